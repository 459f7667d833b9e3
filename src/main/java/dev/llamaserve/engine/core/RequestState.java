package dev.llamaserve.engine.core;

import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.grammar.Grammar;
import dev.llamaserve.engine.sampling.SamplingConfig;

/** Everything the engine keeps about one request. Fields other than the volatile flag: engine thread. */
final class RequestState {

    final GenerationRequest request;
    final SamplingConfig sampling;
    final EventStream stream;
    /** Set by any thread asking for an abort; the engine thread acts on it. */
    volatile boolean abortRequested;

    /** One per choice ({@code n}), index order; null until the engine thread admitted the request. */
    SequenceState[] choices;
    /** Choices not yet finished. */
    int unfinished;
    /** The compiled output constraint (null: free text); each choice's state in it is in its SequenceState. */
    Grammar grammar;
    /** Counted in the engine's waiting figure until first admitted or finished. */
    boolean countedWaiting = true;
    /** Every choice has finished and the stream has ended. */
    boolean finished;

    RequestState(GenerationRequest request, SamplingConfig sampling, EventStream stream) {
        this.request = request;
        this.sampling = sampling;
        this.stream = stream;
    }
}
