package dev.llamaserve.engine.core;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.sampling.SamplingConfig;
import dev.llamaserve.engine.sampling.StopStrings;
import dev.llamaserve.engine.scheduler.Sequence;

/** Everything the engine keeps about one request. Fields other than the volatile flag: engine thread. */
final class RequestState {

    final GenerationRequest request;
    final SamplingConfig sampling;
    final EventStream stream;
    /** Set by any thread asking for an abort; the engine thread acts on it. */
    volatile boolean abortRequested;

    Sequence sequence;
    dev.llamaserve.engine.sampling.Sampler sampler;
    Detokenizer.IncrementalDecoder decoder;
    StopStrings stops;
    /** The compiled output constraint (null: free text), and the sequence's state in it once admitted. */
    dev.llamaserve.engine.grammar.Grammar grammar;
    dev.llamaserve.engine.grammar.GrammarMatcher matcher;
    /** Counted in the engine's waiting figure until first admitted or finished. */
    boolean countedWaiting = true;
    boolean finished;

    RequestState(GenerationRequest request, SamplingConfig sampling, EventStream stream) {
        this.request = request;
        this.sampling = sampling;
        this.stream = stream;
    }
}
