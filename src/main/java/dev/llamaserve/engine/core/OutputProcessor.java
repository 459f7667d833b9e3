package dev.llamaserve.engine.core;

import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.runner.ModelRunner;
import dev.llamaserve.engine.sampling.Sampler;
import dev.llamaserve.engine.sampling.SamplerWorkspace;
import dev.llamaserve.engine.sampling.SamplingConfig;
import dev.llamaserve.engine.sampling.StopStrings;
import dev.llamaserve.engine.scheduler.Scheduler;
import dev.llamaserve.engine.scheduler.SchedulerOutput;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The update stage of a step (engine thread): samples each row that ends a sequence's scheduled tokens,
 * decodes it, matches stop tokens and stop strings, queues the events, and finishes requests (freeing their
 * KV and ending their streams).
 */
final class OutputProcessor {

    private static final Logger LOG = LoggerFactory.getLogger(OutputProcessor.class);

    private final Scheduler scheduler;
    private final RequestTable requests;
    private final StatsRecorder stats;
    private final SamplerWorkspace workspace;
    private final int maxBufferedEvents;

    OutputProcessor(Scheduler scheduler, RequestTable requests, StatsRecorder stats, SamplerWorkspace workspace,
            int maxBufferedEvents) {
        this.scheduler = scheduler;
        this.requests = requests;
        this.stats = stats;
        this.workspace = workspace;
        this.maxBufferedEvents = maxBufferedEvents;
    }

    /** One token for every scheduled sequence whose row is sampled this step. */
    void update(SchedulerOutput out, ModelRunner.StepLogits logits) {
        List<SchedulerOutput.Scheduled> scheduled = out.scheduled();
        for (int i = 0; i < scheduled.size(); i++) {
            SchedulerOutput.Scheduled s = scheduled.get(i);
            if (!s.samples()) {
                continue;
            }
            RequestState rs = requests.bySequence(s.sequence().id());
            if (rs == null || rs.finished) {
                continue;
            }
            try {
                onToken(rs, logits.logits(), logits.offset(i), logits.vocabSize());
            } catch (RuntimeException e) {
                LOG.error("sampling failed for request " + rs.request.requestId(), e);
                finish(rs, EngineEvent.FinishReason.ERROR, null, "", "sampling failed: " + e);
            }
        }
    }

    /** Ends every request of a batch whose forward pass failed. */
    void failBatch(SchedulerOutput out, String message) {
        for (SchedulerOutput.Scheduled s : out.scheduled()) {
            RequestState rs = requests.bySequence(s.sequence().id());
            if (rs != null) {
                finish(rs, EngineEvent.FinishReason.ERROR, null, "", message);
            }
        }
    }

    private void onToken(RequestState rs, float[] logits, int offset, int vocab) {
        long[] allowed = null;
        long grammarNanos = 0;
        if (rs.matcher != null) {
            long t0 = System.nanoTime();
            allowed = rs.matcher.allowedTokens();
            grammarNanos = System.nanoTime() - t0;
        }
        Sampler.Result r = rs.sampler.sample(logits, offset, vocab, workspace, allowed);
        int token = r.token();
        rs.sequence.appendToken(token);
        rs.sampler.accept(token);
        int n = rs.sequence.outputLength();
        SamplingConfig cfg = rs.sampling;
        boolean grammarDone = false;
        if (rs.matcher != null) { // accepting computes the next state's mask (the next lookup hits the cache)
            long t0 = System.nanoTime();
            grammarDone = grammarDone(rs.matcher, token);
            stats.grammarMask(grammarNanos + System.nanoTime() - t0);
        }
        boolean stopToken = (n > cfg.minTokens() && cfg.isStopToken(token))
                || (rs.matcher != null && rs.matcher.isEnded());
        String text = "";
        String stopString = null;
        if (!stopToken) {
            StopStrings.Result sr = rs.stops.feed(rs.decoder.next(token), n >= cfg.minTokens());
            text = sr.emit();
            stopString = sr.stop();
        }
        List<EngineEvent.TokenLogprob> lps = r.logprob() == null ? List.of() : List.of(r.logprob());
        if (!rs.stream.offer(new EngineEvent.Tokens(new int[] {token}, text, lps))) {
            finish(rs, EngineEvent.FinishReason.ERROR, null, "", "consumer fell more than "
                    + maxBufferedEvents + " events behind; request aborted");
            return;
        }
        if (stopToken) {
            finish(rs, EngineEvent.FinishReason.STOP, token, releaseTail(rs), null);
        } else if (stopString != null) {
            finish(rs, EngineEvent.FinishReason.STOP, stopString, "", null);
        } else if (grammarDone) {
            finish(rs, EngineEvent.FinishReason.STOP, null, releaseTail(rs), null);
        } else if (n >= cfg.maxTokens()) {
            finish(rs, EngineEvent.FinishReason.LENGTH, null, releaseTail(rs), null);
        }
    }

    /**
     * Advances the grammar by the sampled token (the mask allowed it) and tells whether the document is
     * finished: end of sequence sampled, or complete with nothing else allowed.
     */
    private static boolean grammarDone(dev.llamaserve.engine.grammar.GrammarMatcher matcher, int token) {
        if (!matcher.accept(token)) {
            throw new IllegalStateException("sampled token " + token + " outside the grammar's mask");
        }
        return matcher.isDone();
    }

    /** Text held back at the end: incomplete UTF-8 (flushed) and a stop-string prefix that never completed. */
    private static String releaseTail(RequestState rs) {
        StopStrings.Result sr = rs.stops.feed(rs.decoder.flush(), rs.sequence.outputLength() >= rs.sampling.minTokens());
        return sr.stop() != null ? sr.emit() : sr.emit() + rs.stops.flush();
    }

    /** Ends a request once: frees its sequence, then queues its {@code Finished} event. */
    void finish(RequestState rs, EngineEvent.FinishReason reason, Object stopReason, String text, String error) {
        if (rs.finished) {
            return;
        }
        rs.finished = true;
        int completion = 0;
        if (rs.sequence != null) {
            scheduler.finish(rs.sequence);
            completion = rs.sequence.outputLength();
        }
        requests.remove(rs);
        // Publish the freed KV before the stream can deliver its end: whoever sees Finished sees the KV back.
        stats.publish();
        rs.stream.complete(new EngineEvent.Finished(reason,
                new EngineEvent.Usage(rs.request.promptTokenIds().length, completion), text, stopReason, error));
    }

    void finishAll(EngineEvent.FinishReason reason, String error) {
        for (RequestState rs : requests.admittedRequests()) {
            finish(rs, reason, null, "", error);
        }
    }
}
