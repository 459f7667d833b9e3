package dev.llamaserve.ops.lifecycle;

import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineStats;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.SamplingParams;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;

/**
 * The warm-up generation: one greedy 1-token request through the real engine (the first forward pass
 * compiles and allocates what later steps reuse), then one of {@link EngineStats#MIN_RATE_TOKENS} + 1 prompt
 * tokens ({@link #ratePrompt}), a warm step that gives the engine its rate per token: without it, the first long
 * prefill chunk of a cold server (minutes for a large model on a CPU) had only the stall timeout and liveness
 * reported it as a stall. Readiness turns UP only after both succeeded.
 */
final class WarmUp {

    private WarmUp() {}

    /**
     * The rate step's prompt: {@code warmUp}'s first token, then its others over and over, to
     * {@link EngineStats#MIN_RATE_TOKENS} + {@code warmUp.length} tokens, so that the step computes at least
     * {@link EngineStats#MIN_RATE_TOKENS} of them even where the prefix cache holds the whole warm-up prompt (a
     * small block size). Null where max-model-len leaves no room for so many, or {@code warmUp} has nothing to
     * repeat.
     */
    static int[] ratePrompt(int[] warmUp, int maxModelLen) {
        int n = EngineStats.MIN_RATE_TOKENS + warmUp.length;
        if (n > GenerationRequest.maxPromptTokens(maxModelLen) || warmUp.length < 2) {
            return null;
        }
        int[] prompt = new int[n];
        prompt[0] = warmUp[0];
        for (int i = 1; i < n; i++) {
            prompt[i] = warmUp[1 + (i - 1) % (warmUp.length - 1)];
        }
        return prompt;
    }

    /**
     * Runs the warm-up, the generation from {@code prompt} and then the rate step ({@link #ratePrompt}), and waits
     * for their ends (no timeout: an engine that never steps is what the liveness probe's stall check reports).
     *
     * @return the first generation's finish event (reason STOP or LENGTH)
     * @throws IllegalStateException when a warm-up request ends with an error or is aborted
     */
    static EngineEvent.Finished run(InferenceEngine engine, int[] prompt) throws InterruptedException {
        EngineEvent.Finished f = generate(engine, prompt);
        int[] rate = ratePrompt(prompt, engine.modelInfo().maxModelLen());
        if (rate != null) {
            generate(engine, rate);
        }
        return f;
    }

    private static EngineEvent.Finished generate(InferenceEngine engine, int[] prompt) throws InterruptedException {
        CompletableFuture<EngineEvent.Finished> end = new CompletableFuture<>();
        engine.submit(new GenerationRequest("warm-up-" + UUID.randomUUID(), prompt, SamplingParams.greedy(1)))
                .subscribe(new Flow.Subscriber<>() {
                    @Override
                    public void onSubscribe(Flow.Subscription s) {
                        s.request(Long.MAX_VALUE);
                    }

                    @Override
                    public void onNext(EngineEvent e) {
                        if (e instanceof EngineEvent.Finished f) {
                            end.complete(f);
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        end.completeExceptionally(t);
                    }

                    @Override
                    public void onComplete() {
                        end.completeExceptionally(new IllegalStateException("the warm-up stream ended without a result"));
                    }
                });
        EngineEvent.Finished f;
        try {
            f = end.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the warm-up generation failed: " + e.getCause(), e.getCause());
        }
        if (f.reason() == EngineEvent.FinishReason.ERROR || f.reason() == EngineEvent.FinishReason.ABORT) {
            throw new IllegalStateException("the warm-up generation (1 greedy token) ended with "
                    + f.reason().wireName() + (f.errorMessage() == null ? "" : ": " + f.errorMessage()));
        }
        return f;
    }
}
