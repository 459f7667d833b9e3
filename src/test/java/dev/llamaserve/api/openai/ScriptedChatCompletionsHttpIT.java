package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.EngineEvent;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import tools.jackson.databind.JsonNode;

/**
 * POST /v1/chat/completions with a SCRIPTED engine (see {@link EngineDoubleWebTest}), only for what the
 * real engine cannot be made to do on demand: emit a fixed token sequence (tool-call wire format; the
 * ids are the real tokenizer's), stay silent through a long prefill (keep-alive), or fail mid-generation.
 * The real chat format encodes every prompt. All other chat tests run on the real engine
 * ({@link ChatCompletionsHttpIT}).
 */
class ScriptedChatCompletionsHttpIT extends EngineDoubleWebTest {

    static final String TOOLS = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
            + "\"description\":\"Weather\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}]";

    @Test
    void keepAliveCommentsDuringLongPrefill() throws Exception {
        // first token after 1.2 s; keep-alive interval is 300 ms in the test properties
        engine.script = r -> engine.text(r, "late").delaySubscription(Duration.ofMillis(1200));
        String body = post("/v1/chat/completions", chat("\"stream\":true")).body();
        List<String> events = Sse.events(body);
        assertThat(events.get(0)).startsWith("data: {");
        long comments = events.stream().filter(e -> e.equals(": keep-alive")).count();
        assertThat(comments).isGreaterThanOrEqualTo(2);
        int firstContent = indexOf(events, "\"content\":\"late\"");
        assertThat(events.subList(1, firstContent)).allMatch(e -> e.equals(": keep-alive"));
        assertThat(events.get(events.size() - 1)).isEqualTo("data: [DONE]");
    }

    @Test
    void engineErrorMidStreamIsAnErrorEventThenDone() throws Exception {
        engine.script = r -> Flux.just(engine.tokens("Hi"), engine.finished(r, EngineEvent.FinishReason.ERROR, 1));
        List<String> data = Sse.data(post("/v1/chat/completions", chat("\"stream\":true")).body());
        assertThat(data).hasSize(4);
        assertThat(json(data.get(1)).get("choices").get(0).get("delta").get("content").asString()).isEqualTo("Hi");
        JsonNode error = json(data.get(2)).get("error");
        assertThat(error.get("type").asString()).isEqualTo("server_error");
        assertThat(error.get("code").asString()).isEqualTo("internal_error");
        assertThat(error.has("param")).isTrue();
        assertThat(data.get(3)).isEqualTo("[DONE]");
    }

    @Test
    void publisherFailureMidStreamIsAnErrorEventThenDone() throws Exception {
        engine.script = r -> Flux.concat(Flux.just(engine.tokens("Hi")), Flux.error(new IllegalStateException("boom")));
        List<String> data = Sse.data(post("/v1/chat/completions", chat("\"stream\":true")).body());
        assertThat(data).hasSize(4);
        assertThat(json(data.get(2)).get("error").get("code").asString()).isEqualTo("internal_error");
        assertThat(data.get(2)).doesNotContain("boom");
        assertThat(data.get(3)).isEqualTo("[DONE]");
    }

    @Test
    void engineErrorWithoutStreamIs500() throws Exception {
        engine.script = r -> Flux.just(engine.finished(r, EngineEvent.FinishReason.ERROR, 0));
        HttpResponse<String> r = post("/v1/chat/completions", chat(""));
        assertThat(r.statusCode()).isEqualTo(500);
        assertThat(json(r.body()).get("error").get("type").asString()).isEqualTo("server_error");
        assertThat(r.headers().firstValue("x-should-retry")).as("the SDKs may retry it").isEmpty();
    }

    /** An error the request itself caused (a schema too ambiguous to enforce) is a 500 the OpenAI SDKs do not retry. */
    @Test
    void anErrorTheRequestCausedIsA500NotToRetry() throws Exception {
        engine.script = r -> Flux.just(new EngineEvent.Finished(EngineEvent.FinishReason.ERROR,
                new EngineEvent.Usage(r.promptTokenIds().length, 0), "", null,
                "the schema is too ambiguous to enforce (test)", 0, true, true));
        HttpResponse<String> r = post("/v1/chat/completions", chat(""));
        assertThat(r.statusCode()).isEqualTo(500);
        assertThat(json(r.body()).get("error").get("code").asString()).isEqualTo("internal_error");
        assertThat(r.headers().firstValue("x-should-retry")).hasValue("false");
        assertThat(r.headers().firstValue("Retry-After")).isEmpty();
    }

    @Test
    void toolCallNonStreaming() throws Exception {
        engine.script = r -> engine.text(r, "{\"name\": \"get_weather\", ",
                "\"parameters\": {\"city\": \"Paris\", \"days\": 3.10}}");
        HttpResponse<String> r = post("/v1/chat/completions", chat(TOOLS));
        JsonNode choice = json(r.body()).get("choices").get(0);
        assertThat(choice.get("finish_reason").asString()).isEqualTo("tool_calls");
        assertThat(choice.get("message").get("content").isNull()).isTrue();
        JsonNode call = choice.get("message").get("tool_calls").get(0);
        assertThat(call.get("id").asString()).startsWith("call_");
        assertThat(call.get("type").asString()).isEqualTo("function");
        assertThat(call.get("function").get("name").asString()).isEqualTo("get_weather");
        assertThat(call.get("function").get("arguments").asString()).isEqualTo("{\"city\":\"Paris\",\"days\":3.10}");
        // the real chat format put the tool definition into the prompt
        assertThat(engine.promptText(0)).contains("\"name\": \"get_weather\"");
    }

    @Test
    void toolCallAfterPythonTagTokenWithTextBefore() throws Exception {
        engine.script = r -> Flux.just(engine.tokens("Let me check."), engine.pythonTagToken(),
                engine.tokens("{\"name\":\"f\",\"parameters\":{}}"),
                engine.finished(r, EngineEvent.FinishReason.STOP, 20));
        JsonNode message = json(post("/v1/chat/completions", chat(TOOLS)).body()).get("choices").get(0).get("message");
        assertThat(message.get("content").asString()).isEqualTo("Let me check.");
        assertThat(message.get("tool_calls").get(0).get("function").get("name").asString()).isEqualTo("f");
    }

    @Test
    void toolChoiceNoneKeepsJsonAsContentAndDropsTools() throws Exception {
        engine.script = r -> engine.text(r, "{\"name\": \"f\", \"parameters\": {}}");
        JsonNode choice = json(post("/v1/chat/completions", chat(TOOLS + ",\"tool_choice\":\"none\"")).body())
                .get("choices").get(0);
        assertThat(choice.get("finish_reason").asString()).isEqualTo("stop");
        assertThat(choice.get("message").get("content").asString()).isEqualTo("{\"name\": \"f\", \"parameters\": {}}");
        assertThat(engine.promptText(0)).doesNotContain("get_weather");
    }

    @Test
    void streamingToolCallOneCallPerChunkWithIndex() throws Exception {
        engine.script = r -> Flux.just(engine.pythonTagToken(), engine.tokens("{\"name\": \"a\", "),
                engine.tokens("\"parameters\": {\"x\": 1}}; "), engine.tokens("{\"name\": \"b\", \"parameters\": {}}"),
                engine.finished(r, EngineEvent.FinishReason.STOP, 40));
        List<String> data = Sse.data(post("/v1/chat/completions", chat(TOOLS + ",\"stream\":true")).body());
        assertThat(data).hasSize(5);
        assertThat(json(data.get(0)).get("choices").get(0).get("delta").get("role").asString()).isEqualTo("assistant");
        JsonNode d1 = json(data.get(1)).get("choices").get(0).get("delta");
        JsonNode d2 = json(data.get(2)).get("choices").get(0).get("delta");
        assertThat(d1.has("content")).isFalse();
        assertThat(d1.get("tool_calls")).hasSize(1);
        JsonNode c1 = d1.get("tool_calls").get(0);
        assertThat(c1.get("index").asInt()).isEqualTo(0);
        assertThat(c1.get("id").asString()).startsWith("call_");
        assertThat(c1.get("type").asString()).isEqualTo("function");
        assertThat(c1.get("function").get("name").asString()).isEqualTo("a");
        assertThat(c1.get("function").get("arguments").asString()).isEqualTo("{\"x\":1}");
        JsonNode c2 = d2.get("tool_calls").get(0);
        assertThat(c2.get("index").asInt()).isEqualTo(1);
        assertThat(c2.get("id").asString()).isNotEqualTo(c1.get("id").asString());
        assertThat(c2.get("function").get("name").asString()).isEqualTo("b");
        assertThat(json(data.get(3)).get("choices").get(0).get("finish_reason").asString()).isEqualTo("tool_calls");
        assertThat(data.get(4)).isEqualTo("[DONE]");
    }

    @Test
    void withToolsPlainTextIsFlushedOnceItIsClearlyNotACall() throws Exception {
        engine.script = r -> engine.text(r, " ", "Sun", "ny", " today");
        List<String> data = Sse.data(post("/v1/chat/completions", chat(TOOLS + ",\"stream\":true")).body());
        // " " held (undecided), then " Sun" flushed together, then deltas as produced
        assertThat(data).hasSize(6);
        assertThat(json(data.get(1)).get("choices").get(0).get("delta").get("content").asString()).isEqualTo(" Sun");
        assertThat(json(data.get(2)).get("choices").get(0).get("delta").get("content").asString()).isEqualTo("ny");
        assertThat(json(data.get(3)).get("choices").get(0).get("delta").get("content").asString()).isEqualTo(" today");
        assertThat(json(data.get(4)).get("choices").get(0).get("finish_reason").asString()).isEqualTo("stop");
    }

    @Test
    void withToolsMalformedJsonStreamsAsContentAtTheEnd() throws Exception {
        engine.script = r -> engine.text(r, "{\"name\": ", "\"f\", \"parameters\": {");
        List<String> data = Sse.data(post("/v1/chat/completions", chat(TOOLS + ",\"stream\":true")).body());
        assertThat(data).hasSize(4);
        assertThat(json(data.get(1)).get("choices").get(0).get("delta").get("content").asString())
                .isEqualTo("{\"name\": \"f\", \"parameters\": {");
        assertThat(json(data.get(2)).get("choices").get(0).get("finish_reason").asString()).isEqualTo("stop");
    }

    @Test
    void streamingTextThenPythonTagThenCall() throws Exception {
        engine.script = r -> Flux.just(engine.tokens("Checking."), engine.pythonTagToken(),
                engine.tokens("{\"name\":\"f\",\"parameters\":{\"q\":[1,2]}}"),
                engine.finished(r, EngineEvent.FinishReason.STOP, 30));
        List<String> data = Sse.data(post("/v1/chat/completions", chat(TOOLS + ",\"stream\":true")).body());
        assertThat(data).hasSize(5);
        assertThat(json(data.get(1)).get("choices").get(0).get("delta").get("content").asString()).isEqualTo("Checking.");
        JsonNode call = json(data.get(2)).get("choices").get(0).get("delta").get("tool_calls").get(0);
        assertThat(call.get("function").get("name").asString()).isEqualTo("f");
        assertThat(call.get("function").get("arguments").asString()).isEqualTo("{\"q\":[1,2]}");
        assertThat(json(data.get(3)).get("choices").get(0).get("finish_reason").asString()).isEqualTo("tool_calls");
    }

    private static int indexOf(List<String> events, String fragment) {
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i).contains(fragment)) {
                return i;
            }
        }
        throw new AssertionError("no event contains " + fragment + ": " + events);
    }
}
