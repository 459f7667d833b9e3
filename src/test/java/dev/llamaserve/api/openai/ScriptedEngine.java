package dev.llamaserve.api.openai;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineState;
import dev.llamaserve.engine.EngineStats;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.ModelInfo;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Flow;
import java.util.function.Function;
import reactor.adapter.JdkFlowAdapter;
import reactor.core.publisher.Flux;

/**
 * TEST DOUBLE of the engine for the HTTP layer's tests only (the lead reruns the HTTP tests against
 * the real engine): each submit plays a script of events. Token ids below 256 stand for that byte;
 * ids from 128000 are special tokens ({@link #PYTHON_TAG} is {@code <|python_tag|>}).
 */
public class ScriptedEngine implements InferenceEngine {

    public static final int BEGIN_OF_TEXT = 128000;
    public static final int PYTHON_TAG = 128010;
    public static final int EOT = 128009;
    public static final int MAX_MODEL_LEN = 4096;
    public static final int VOCAB = 128256;

    private static final Map<Integer, String> SPECIALS = Map.of(BEGIN_OF_TEXT, "<|begin_of_text|>",
            PYTHON_TAG, "<|python_tag|>", EOT, "<|eot_id|>");

    public volatile Function<GenerationRequest, Flux<EngineEvent>> script = r -> text(r, "Hello", " world", "!");
    public volatile RuntimeException submitError;
    public final List<GenerationRequest> submitted = new CopyOnWriteArrayList<>();
    public final Set<String> aborted = ConcurrentHashMap.newKeySet();
    public final Set<String> cancelled = ConcurrentHashMap.newKeySet();

    public void reset() {
        script = r -> text(r, "Hello", " world", "!");
        submitError = null;
        submitted.clear();
        aborted.clear();
        cancelled.clear();
    }

    /** One Tokens event per piece (its bytes as ids), then Finished(STOP). */
    public static Flux<EngineEvent> text(GenerationRequest r, String... pieces) {
        List<EngineEvent> events = new ArrayList<>();
        int n = 0;
        for (String piece : pieces) {
            int[] ids = ids(piece);
            n += ids.length;
            events.add(new EngineEvent.Tokens(ids, piece, List.of()));
        }
        events.add(finished(r, EngineEvent.FinishReason.STOP, n));
        return Flux.fromIterable(events);
    }

    public static EngineEvent.Finished finished(GenerationRequest r, EngineEvent.FinishReason reason, int completion) {
        return new EngineEvent.Finished(reason, new EngineEvent.Usage(r.promptTokenIds().length, completion), "",
                reason == EngineEvent.FinishReason.STOP ? EOT : null,
                reason == EngineEvent.FinishReason.ERROR ? "CUDA out of memory (test)" : null);
    }

    public static int[] ids(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            ids[i] = b[i] & 0xff;
        }
        return ids;
    }

    @Override
    public Flow.Publisher<EngineEvent> submit(GenerationRequest request) {
        if (submitError != null) {
            throw submitError;
        }
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
        return new ModelInfo(MAX_MODEL_LEN, VOCAB, Set.of(EOT), 0.6, 0.9, false);
    }

    @Override
    public Detokenizer detokenizer() {
        return new Detokenizer() {
            @Override
            public IncrementalDecoder newDecoder() {
                throw new UnsupportedOperationException("not used by the API");
            }

            @Override
            public String decode(int[] ids, boolean skipSpecialTokens) {
                StringBuilder sb = new StringBuilder();
                for (int id : ids) {
                    if (!isSpecial(id) || !skipSpecialTokens) {
                        sb.append(new String(tokenBytes(id), StandardCharsets.UTF_8));
                    }
                }
                return sb.toString();
            }

            @Override
            public byte[] tokenBytes(int id) {
                if (SPECIALS.containsKey(id)) {
                    return SPECIALS.get(id).getBytes(StandardCharsets.UTF_8);
                }
                return id < 256 ? new byte[] {(byte) id} : ("<" + id + ">").getBytes(StandardCharsets.UTF_8);
            }

            @Override
            public boolean isSpecial(int id) {
                return id >= BEGIN_OF_TEXT;
            }
        };
    }

    @Override
    public void close() {}
}
