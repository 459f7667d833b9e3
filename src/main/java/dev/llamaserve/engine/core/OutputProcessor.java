package dev.llamaserve.engine.core;

import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.grammar.GrammarMatcher;
import dev.llamaserve.engine.grammar.GrammarTooAmbiguousException;
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
    private final Integer eosTokenId;   // the tokenizer's: ending on it gives no stop reason (vLLM's stop_reason)

    OutputProcessor(Scheduler scheduler, RequestTable requests, StatsRecorder stats, SamplerWorkspace workspace,
            int maxBufferedEvents, Integer eosTokenId) {
        this.scheduler = scheduler;
        this.requests = requests;
        this.stats = stats;
        this.workspace = workspace;
        this.maxBufferedEvents = maxBufferedEvents;
        this.eosTokenId = eosTokenId;
    }

    /**
     * Whether every sequence sampled in this step takes its row's greatest logit ({@link Sampler#nextIsRawArgmax}, no
     * grammar): then the step may return argmaxes instead of logits.
     */
    boolean argmaxOnly(SchedulerOutput out) {
        for (SchedulerOutput.Scheduled s : out.scheduled()) {
            if (!s.samples()) {
                continue;
            }
            SequenceState ss = requests.bySequence(s.sequence().id());
            if (ss != null && !ss.finished && (ss.matcher != null || !ss.sampler.nextIsRawArgmax())) {
                return false;
            }
        }
        return true;
    }

    /** One token for every scheduled sequence whose row is sampled this step. */
    void update(SchedulerOutput out, ModelRunner.StepLogits logits) {
        List<SchedulerOutput.Scheduled> scheduled = out.scheduled();
        for (int i = 0; i < scheduled.size(); i++) {
            SchedulerOutput.Scheduled s = scheduled.get(i);
            if (!s.samples()) {
                continue;
            }
            SequenceState ss = requests.bySequence(s.sequence().id());
            if (ss == null || ss.finished) {
                continue;
            }
            try {
                onToken(ss, logits, i);
            } catch (GrammarTooAmbiguousException e) {   // the request's schema: the same request fails again
                LOG.warn("request {} failed: {}", ss.request.request.requestId(), e.getMessage());
                finish(ss.request, EngineEvent.FinishReason.ERROR, e.getMessage(), true);
            } catch (RuntimeException e) {
                LOG.error("sampling failed for request " + ss.request.request.requestId(), e);
                finish(ss.request, EngineEvent.FinishReason.ERROR, "sampling failed: " + e);
            }
        }
    }

    /** Ends every request of a batch whose forward pass failed. */
    void failBatch(SchedulerOutput out, String message) {
        for (SchedulerOutput.Scheduled s : out.scheduled()) {
            SequenceState ss = requests.bySequence(s.sequence().id());
            if (ss != null) {
                finish(ss.request, EngineEvent.FinishReason.ERROR, message);
            }
        }
    }

    /** Scheduled sequence {@code i}'s token: its argmax where the step returned those (argmaxOnly), else sampled. */
    private void onToken(SequenceState ss, ModelRunner.StepLogits logits, int i) {
        long[] allowed = null;
        long grammarNanos = 0;
        if (ss.matcher != null) {
            long t0 = System.nanoTime();
            allowed = ss.matcher.allowedTokens();
            grammarNanos = System.nanoTime() - t0;
        }
        Sampler.Result r = logits.argmax() != null ? new Sampler.Result(logits.argmaxOf(i), null)
                : ss.sampler.sample(logits.logits(), logits.offset(i), logits.vocabSize(), workspace, allowed);
        int token = r.token();
        ss.sequence.appendToken(token);
        ss.sampler.accept(token);
        int n = ss.sequence.outputLength();
        SamplingConfig cfg = ss.sampling;
        boolean grammarDone = false;
        if (ss.matcher != null) { // accepting computes the next state's mask (the next lookup hits the cache)
            long t0 = System.nanoTime();
            grammarDone = grammarDone(ss.matcher, token);
            stats.grammarMask(grammarNanos + System.nanoTime() - t0);
        }
        boolean stopToken = (cfg.stopsAllowed(n) && cfg.isStopToken(token))
                || (ss.matcher != null && ss.matcher.isEnded());
        String text = "";
        String stopString = null;
        if (!stopToken) {
            StopStrings.Result sr = ss.stops.feed(ss.decoder.next(token), cfg.stopsAllowed(n));
            text = sr.emit();
            stopString = sr.stop();
        }
        List<EngineEvent.TokenLogprob> lps = r.logprob() == null ? List.of() : List.of(r.logprob());
        if (!ss.request.stream.offer(new EngineEvent.Tokens(new int[] {token}, text, lps, ss.index))) {
            finish(ss.request, EngineEvent.FinishReason.ERROR, "consumer fell more than "
                    + maxBufferedEvents + " events behind; request aborted");
            return;
        }
        if (stopToken) {
            finishChoice(ss, EngineEvent.FinishReason.STOP, eosTokenId != null && token == eosTokenId ? null : token,
                    releaseTail(ss), null);
        } else if (stopString != null) {
            finishChoice(ss, EngineEvent.FinishReason.STOP, stopString, "", null);
        } else if (grammarDone) {
            finishChoice(ss, EngineEvent.FinishReason.STOP, null, releaseTail(ss), null);
        } else if (n >= cfg.maxTokens()) {
            finishChoice(ss, EngineEvent.FinishReason.LENGTH, null, releaseTail(ss), null);
        }
    }

    /**
     * Advances the grammar by the sampled token (the mask allowed it) and tells whether the document is
     * finished: end of sequence sampled, or complete with nothing else allowed.
     */
    private static boolean grammarDone(GrammarMatcher matcher, int token) {
        if (!matcher.accept(token)) {
            throw new IllegalStateException("sampled token " + token + " outside the grammar's mask");
        }
        return matcher.isDone();
    }

    /** Text held back at the end: incomplete UTF-8 (flushed) and a stop-string prefix that never completed. */
    private static String releaseTail(SequenceState ss) {
        StopStrings.Result sr = ss.stops.feed(ss.decoder.flush(), ss.sampling.stopsAllowed(ss.sequence.outputLength()));
        return sr.stop() != null ? sr.emit() : sr.emit() + ss.stops.flush();
    }

    /**
     * Ends a whole request once (abort, error, shutdown): every choice still running ends with {@code reason};
     * a request not yet admitted ends with one {@code Finished}.
     */
    void finish(RequestState rs, EngineEvent.FinishReason reason, String error) {
        finish(rs, reason, error, false);
    }

    /** {@code requestError}: the request itself caused the error ({@link EngineEvent.Finished#requestError}). */
    private void finish(RequestState rs, EngineEvent.FinishReason reason, String error, boolean requestError) {
        if (rs.finished) {
            return;
        }
        if (rs.choices == null) {
            rs.finished = true;
            requests.remove(rs);
            stats.publish();
            rs.stream.complete(new EngineEvent.Finished(reason,
                    new EngineEvent.Usage(rs.request.promptTokenIds().length, 0, 0), "", null, error));
            return;
        }
        for (SequenceState ss : rs.choices) {
            finishChoice(ss, reason, null, "", error, requestError);
        }
    }

    /**
     * Ends one choice once: frees its sequence, then queues its {@code Finished} event; the request's last
     * choice ends the stream (and forgets the request).
     */
    void finishChoice(SequenceState ss, EngineEvent.FinishReason reason, Object stopReason, String text,
            String error) {
        finishChoice(ss, reason, stopReason, text, error, false);
    }

    /** {@code requestError}: as {@link #finish(RequestState, EngineEvent.FinishReason, String, boolean)}'s. */
    private void finishChoice(SequenceState ss, EngineEvent.FinishReason reason, Object stopReason, String text,
            String error, boolean requestError) {
        if (ss.finished) {
            return;
        }
        ss.finished = true;
        RequestState rs = ss.request;
        scheduler.finish(ss.sequence);
        requests.removeSequence(ss);
        boolean last = --rs.unfinished == 0;
        EngineEvent.Finished f = new EngineEvent.Finished(reason, new EngineEvent.Usage(
                rs.request.promptTokenIds().length, ss.sequence.outputLength(), ss.sequence.cachedPromptTokens()),
                text, stopReason, error, ss.index, last, requestError);
        if (!last) {
            if (!rs.stream.offer(f)) {
                finish(rs, EngineEvent.FinishReason.ERROR, "consumer fell more than " + maxBufferedEvents
                        + " events behind; request aborted");
            }
            return;
        }
        rs.finished = true;
        requests.remove(rs);
        // Publish the freed KV before the stream can deliver its end: whoever sees Finished sees the KV back.
        stats.publish();
        rs.stream.complete(f);
    }

    void finishAll(EngineEvent.FinishReason reason, String error) {
        for (RequestState rs : requests.admittedRequests()) {
            finish(rs, reason, error);
        }
    }
}
