package dev.llamaserve.api.openai;

import dev.llamaserve.engine.EngineEvent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The SSE frames of a chat request with {@code n} choices, as OpenAI streams them: each choice's chunks carry
 * its {@code index} (the engine interleaves the choices), each choice starts with its role chunk and ends with
 * its finish-reason chunk; after the last choice, the usage chunk (prompt tokens once, completion tokens
 * summed) when asked for, then {@code data: [DONE]}. An error of any choice ends the stream (error frame,
 * [DONE]). With {@code n = 1} the frames are exactly those of one {@link ChatStreamAssembler}.
 */
final class ChatChoicesStream {

    private final ChatStreamAssembler[] choices;
    private final EngineEvent.Usage[] usages;
    private final ChatResponses responses;
    private final boolean includeUsage;
    private boolean done;

    /** @param assembler choice {@code i}'s assembler, built with {@code endsStream = false} */
    ChatChoicesStream(int n, ChatResponses responses, boolean includeUsage, IntFunction<ChatStreamAssembler> assembler) {
        this.choices = new ChatStreamAssembler[n];
        for (int i = 0; i < n; i++) {
            choices[i] = assembler.apply(i);
        }
        this.usages = new EngineEvent.Usage[n];
        this.responses = responses;
        this.includeUsage = includeUsage;
    }

    /** The first frames: each choice's role chunk. */
    List<String> start() {
        List<String> out = new ArrayList<>();
        for (ChatStreamAssembler c : choices) {
            out.add(c.start());
        }
        return out;
    }

    List<String> onEvent(EngineEvent event) {
        if (done) {
            return List.of();
        }
        if (event instanceof EngineEvent.Tokens t) {
            return choices[t.index()].onTokens(t);
        }
        EngineEvent.Finished f = (EngineEvent.Finished) event;
        ChatStreamAssembler c = choices[f.index()];
        List<String> out = new ArrayList<>(c.onFinished(f));
        if ("error".equals(c.finishReason())) {
            done = true; // its frames end with [DONE]
            return out;
        }
        usages[f.index()] = f.usage();
        if (f.last()) {
            done = true;
            EngineEvent.Usage usage = EngineEvent.Usage.ofChoices(Arrays.asList(usages));
            if (includeUsage && usage != null) {
                out.add(ChatStreamAssembler.frame(responses.usageChunk(usage)));
            }
            out.add(ChatStreamAssembler.DONE);
        }
        return out;
    }

    /** An error after the stream started: an error frame, then [DONE]. */
    List<String> error(ApiException error) {
        done = true;
        return choices[0].error(error);
    }

    boolean done() {
        return done;
    }
}
