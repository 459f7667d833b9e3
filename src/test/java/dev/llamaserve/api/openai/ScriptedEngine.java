package dev.llamaserve.api.openai;

import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineState;
import dev.llamaserve.engine.EngineStats;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.ModelInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Flow;
import java.util.function.Function;
import reactor.adapter.JdkFlowAdapter;
import reactor.core.publisher.Flux;

/**
 * TEST DOUBLE of the engine, used only where the real engine cannot produce what a test needs: a fixed
 * token sequence (tool-call wire format), a long silent prefill (keep-alive), engine failures and
 * submit-time refusals that have no producer. Each submit plays a script of events whose token ids come
 * from the REAL tokenizer of the served checkpoint ({@link #ids} encodes text, {@link #pythonTag()} is the
 * real {@code <|python_tag|>} id), and its detokenizer is that tokenizer.
 */
public class ScriptedEngine implements InferenceEngine {

    public static final int MAX_MODEL_LEN = 4096;

    private final LlamaTokenizer tokenizer;
    private final int eot;
    private final int pythonTag;

    public volatile Function<GenerationRequest, Flux<EngineEvent>> script;
    public volatile RuntimeException submitError;
    public final List<GenerationRequest> submitted = new CopyOnWriteArrayList<>();
    public final Set<String> aborted = ConcurrentHashMap.newKeySet();
    public final Set<String> cancelled = ConcurrentHashMap.newKeySet();

    public ScriptedEngine(LlamaTokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.eot = tokenizer.addedTokenId("<|eot_id|>").orElseThrow();
        this.pythonTag = tokenizer.addedTokenId("<|python_tag|>").orElseThrow();
        reset();
    }

    public void reset() {
        script = r -> text(r, "Hello", " world", "!");
        submitError = null;
        submitted.clear();
        aborted.clear();
        cancelled.clear();
    }

    /** The real {@code <|python_tag|>} id. */
    public int pythonTag() {
        return pythonTag;
    }

    /** The real tokenizer's ids for {@code text} (special-token text not parsed). */
    public int[] ids(String text) {
        return tokenizer.encode(text, false);
    }

    /** One Tokens event carrying {@code text}'s real token ids. */
    public EngineEvent.Tokens tokens(String text) {
        return new EngineEvent.Tokens(ids(text), text, List.of());
    }

    /** The {@code <|python_tag|>} token alone (its text is never part of a delta). */
    public EngineEvent.Tokens pythonTagToken() {
        return new EngineEvent.Tokens(new int[] {pythonTag}, "", List.of());
    }

    /** One Tokens event per piece, then Finished(STOP) with the real completion token count. */
    public Flux<EngineEvent> text(GenerationRequest r, String... pieces) {
        List<EngineEvent> events = new ArrayList<>();
        int n = 0;
        for (String piece : pieces) {
            EngineEvent.Tokens t = tokens(piece);
            n += t.tokenIds().length;
            events.add(t);
        }
        events.add(finished(r, EngineEvent.FinishReason.STOP, n));
        return Flux.fromIterable(events);
    }

    public EngineEvent.Finished finished(GenerationRequest r, EngineEvent.FinishReason reason, int completion) {
        return new EngineEvent.Finished(reason, new EngineEvent.Usage(r.promptTokenIds().length, completion), "",
                null,   // STOP on eot, the tokenizer's end of sequence: no stop reason, as the engine gives it
                reason == EngineEvent.FinishReason.ERROR ? "CUDA out of memory (test)" : null);
    }

    /** The prompt a request was submitted with, as text (special tokens included). */
    public String promptText(int submission) {
        return tokenizer.decode(submitted.get(submission).promptTokenIds(), false);
    }

    @Override
    public Flow.Publisher<EngineEvent> submit(GenerationRequest request) {
        if (submitError != null) {
            throw submitError;
        }
        request.validate(modelInfo()); // as the engine contract says: the same 400s as the real engine
        submitted.add(request);
        Flux<EngineEvent> events = script.apply(request)
                .doOnCancel(() -> cancelled.add(request.requestId()));
        return JdkFlowAdapter.publisherToFlowPublisher(events);
    }

    @Override
    public boolean abort(String requestId) {
        aborted.add(requestId);
        return true;
    }

    @Override
    public EngineStats stats() {
        return new EngineStats(EngineState.READY, 0, 0, 0, 100, 0, 0, 0, 0);
    }

    @Override
    public ModelInfo modelInfo() {
        return new ModelInfo(MAX_MODEL_LEN, tokenizer.vocabSize(), Set.of(eot), 0.6, 0.9, false, eot);
    }

    @Override
    public Detokenizer detokenizer() {
        return tokenizer;
    }

    @Override
    public void close() {}
}
