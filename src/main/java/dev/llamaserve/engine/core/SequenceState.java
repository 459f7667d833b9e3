package dev.llamaserve.engine.core;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.grammar.GrammarMatcher;
import dev.llamaserve.engine.sampling.Sampler;
import dev.llamaserve.engine.sampling.SamplingConfig;
import dev.llamaserve.engine.sampling.StopStrings;
import dev.llamaserve.engine.scheduler.Sequence;

/**
 * One choice of a request (engine thread only): its sequence and everything that samples, decodes and stops
 * it. A request with {@code n} choices has {@code n} of these, each with its own sampler (seeded
 * {@code seed + index}), decoder and stop matcher, and any other per-sequence state (e.g. a grammar matcher).
 */
final class SequenceState {

    final RequestState request;
    final int index;
    final SamplingConfig sampling;
    final Sequence sequence;
    final Sampler sampler;
    final Detokenizer.IncrementalDecoder decoder;
    final StopStrings stops;
    /** The choice's state in the request's grammar (null: free text); set when admitted. */
    GrammarMatcher matcher;
    boolean finished;

    SequenceState(RequestState request, int index, SamplingConfig sampling, Sequence sequence,
            Detokenizer.IncrementalDecoder decoder) {
        this.request = request;
        this.index = index;
        this.sampling = sampling;
        this.sequence = sequence;
        this.sampler = new Sampler(sampling, request.request.promptTokenIds());
        this.decoder = decoder;
        this.stops = new StopStrings(sampling.stop());
    }
}
