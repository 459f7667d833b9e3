package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.chat.ToolCallParser;
import dev.llamaserve.chat.ToolCallStartTokens;
import dev.llamaserve.engine.EngineEvent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The SSE frames of a chat request with n choices: indexes, one finish each, usage summed, one [DONE]. */
class ChatChoicesStreamTest {

    private final ToolCallStartTokens startTokens = new ToolCallStartTokens(FixtureTokenizer.get());
    private final ChatResponses responses = new ChatResponses("chatcmpl-1", 7, "m");

    private ChatChoicesStream stream(int n) {
        return new ChatChoicesStream(n, responses, true,
                i -> new ChatStreamAssembler(responses, false, ToolCallParser.Calls.ANY, startTokens, null, true, "req-1", i, false));
    }

    private static EngineEvent.Tokens text(String s, int index) {
        return new EngineEvent.Tokens(new int[] {1}, s, List.of(), index);
    }

    private static EngineEvent.Finished end(int index, int completion, boolean last) {
        return new EngineEvent.Finished(EngineEvent.FinishReason.LENGTH, new EngineEvent.Usage(10, completion, 8), "",
                null, null, index, last);
    }

    @Test
    void choicesInterleaveWithTheirIndexAndTheUsageCountsThePromptOnce() {
        ChatChoicesStream s = stream(2);
        List<String> frames = new ArrayList<>(s.start());
        frames.addAll(s.onEvent(text("a", 1)));
        frames.addAll(s.onEvent(text("b", 0)));
        frames.addAll(s.onEvent(end(0, 3, false)));
        assertThat(s.done()).isFalse();
        frames.addAll(s.onEvent(text("c", 1)));
        frames.addAll(s.onEvent(end(1, 4, true)));
        assertThat(s.done()).isTrue();
        assertThat(frames.get(frames.size() - 1)).isEqualTo(ChatStreamAssembler.DONE);
        assertThat(frames).filteredOn(ChatStreamAssembler.DONE::equals).hasSize(1);

        List<JsonNode> chunks = new ArrayList<>();
        for (String f : frames.subList(0, frames.size() - 1)) {
            chunks.add(OpenAiJson.MAPPER.readTree(f.substring("data: ".length())));
        }
        StringBuilder[] text = {new StringBuilder(), new StringBuilder()};
        int[] finishes = new int[2];
        int[] roles = new int[2];
        for (JsonNode c : chunks.subList(0, chunks.size() - 1)) {
            JsonNode choice = c.get("choices").get(0);
            int i = choice.get("index").asInt();
            JsonNode delta = choice.get("delta");
            if (delta.has("role")) {
                roles[i]++;
            }
            if (delta.has("content")) {
                text[i].append(delta.get("content").asString());
            }
            if (!choice.get("finish_reason").isNull()) {
                finishes[i]++;
            }
        }
        assertThat(text[0].toString()).isEqualTo("b");
        assertThat(text[1].toString()).isEqualTo("ac");
        assertThat(roles).containsExactly(1, 1);
        assertThat(finishes).containsExactly(1, 1);
        JsonNode usage = chunks.get(chunks.size() - 1).get("usage");
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(10);
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(7);
        assertThat(usage.get("total_tokens").asInt()).isEqualTo(17);
        assertThat(usage.get("prompt_tokens_details").get("cached_tokens").asInt()).isEqualTo(8);
    }

    @Test
    void anErrorOfOneChoiceEndsTheStream() {
        ChatChoicesStream s = stream(2);
        s.start();
        List<String> frames = s.onEvent(new EngineEvent.Finished(EngineEvent.FinishReason.ERROR,
                new EngineEvent.Usage(10, 0), "", null, "boom", 1, false));
        assertThat(s.done()).isTrue();
        assertThat(frames.get(0)).contains("\"error\"");
        assertThat(frames.get(frames.size() - 1)).isEqualTo(ChatStreamAssembler.DONE);
        assertThat(s.onEvent(text("late", 0))).isEmpty();
    }
}
