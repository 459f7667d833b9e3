package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.EngineEvent;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import tools.jackson.databind.JsonNode;

/** POST /v1/chat/completions over real HTTP, with the engine test double (see {@link EngineDoubleWebTest}). */
class ChatCompletionsHttpTest extends EngineDoubleWebTest {

    private static JsonNode json(String s) {
        return OpenAiJson.MAPPER.readTree(s);
    }

    @Test
    void nonStreamingCompletion() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", chat("\"max_tokens\":50,\"temperature\":0.5"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        JsonNode body = json(r.body());
        assertThat(body.get("id").asString()).startsWith("chatcmpl-");
        assertThat(body.get("object").asString()).isEqualTo("chat.completion");
        assertThat(body.get("model").asString()).isEqualTo(MODEL);
        JsonNode choice = body.get("choices").get(0);
        assertThat(choice.get("message").get("role").asString()).isEqualTo("assistant");
        assertThat(choice.get("message").get("content").asString()).isEqualTo("Hello world!");
        assertThat(choice.get("finish_reason").asString()).isEqualTo("stop");
        assertThat(choice.has("logprobs")).isTrue();
        assertThat(choice.get("logprobs").isNull()).isTrue();
        int prompt = engine.submitted.get(0).promptTokenIds().length;
        assertThat(body.get("usage").get("prompt_tokens").asInt()).isEqualTo(prompt);
        assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(12);
        assertThat(body.get("usage").get("total_tokens").asInt()).isEqualTo(prompt + 12);
        assertThat(engine.submitted.get(0).params().maxTokens()).isEqualTo(50);
        assertThat(engine.submitted.get(0).params().temperature()).isEqualTo(0.5);
        assertThat(engine.submitted.get(0).requestId()).isEqualTo(body.get("id").asString());
    }

    @Test
    void streamIsExactlyOpenAiFraming() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions",
                chat("\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/event-stream");
        List<String> data = Sse.data(r.body());
        JsonNode first = json(data.get(0));
        String id = first.get("id").asString();
        long created = first.get("created").asLong();
        String head = "{\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":" + created
                + ",\"model\":\"" + MODEL + "\",";
        int prompt = engine.submitted.get(0).promptTokenIds().length;
        assertThat(data).containsExactly(
                head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}",
                head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"logprobs\":null,\"finish_reason\":null}]}",
                head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"},\"logprobs\":null,\"finish_reason\":null}]}",
                head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"},\"logprobs\":null,\"finish_reason\":null}]}",
                head + "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}",
                head + "\"choices\":[],\"usage\":{\"prompt_tokens\":" + prompt + ",\"completion_tokens\":12,\"total_tokens\":"
                        + (prompt + 12) + "}}",
                "[DONE]");
        assertThat(r.body()).endsWith("data: [DONE]\n\n");
    }

    @Test
    void streamWithoutUsageOptionHasNoUsageChunk() throws Exception {
        engine.script = r -> Flux.just(new EngineEvent.Tokens(ScriptedEngine.ids("abc"), "abc", List.of()),
                ScriptedEngine.finished(r, EngineEvent.FinishReason.LENGTH, 3));
        List<String> data = Sse.data(post("/v1/chat/completions", chat("\"stream\":true")).body());
        assertThat(data).hasSize(4);
        assertThat(json(data.get(2)).get("choices").get(0).get("finish_reason").asString()).isEqualTo("length");
        assertThat(data.get(3)).isEqualTo("[DONE]");
        assertThat(data).noneMatch(d -> d.contains("usage"));
    }

    @Test
    void keepAliveCommentsDuringLongPrefill() throws Exception {
        // first token after 1.2 s; keep-alive interval is 300 ms in the test properties
        engine.script = r -> ScriptedEngine.text(r, "late").delaySubscription(Duration.ofMillis(1200));
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
        engine.script = r -> Flux.just(new EngineEvent.Tokens(ScriptedEngine.ids("Hi"), "Hi", List.of()),
                ScriptedEngine.finished(r, EngineEvent.FinishReason.ERROR, 2));
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
        engine.script = r -> Flux.concat(Flux.just(new EngineEvent.Tokens(ScriptedEngine.ids("Hi"), "Hi", List.of())),
                Flux.error(new IllegalStateException("boom")));
        List<String> data = Sse.data(post("/v1/chat/completions", chat("\"stream\":true")).body());
        assertThat(data).hasSize(4);
        assertThat(json(data.get(2)).get("error").get("code").asString()).isEqualTo("internal_error");
        assertThat(data.get(2)).doesNotContain("boom");
        assertThat(data.get(3)).isEqualTo("[DONE]");
    }

    @Test
    void engineErrorWithoutStreamIs500() throws Exception {
        engine.script = r -> Flux.just(ScriptedEngine.finished(r, EngineEvent.FinishReason.ERROR, 0));
        HttpResponse<String> r = post("/v1/chat/completions", chat(""));
        assertThat(r.statusCode()).isEqualTo(500);
        assertThat(json(r.body()).get("error").get("type").asString()).isEqualTo("server_error");
    }

    @Test
    void toolCallNonStreaming() throws Exception {
        engine.script = r -> ScriptedEngine.text(r, "{\"name\": \"get_weather\", ",
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
        assertThat(encoder.last.tools()).isNotNull();
    }

    @Test
    void toolCallAfterPythonTagTokenWithTextBefore() throws Exception {
        engine.script = r -> Flux.just(
                new EngineEvent.Tokens(ScriptedEngine.ids("Let me check."), "Let me check.", List.of()),
                new EngineEvent.Tokens(new int[] {ScriptedEngine.PYTHON_TAG}, "", List.of()),
                new EngineEvent.Tokens(ScriptedEngine.ids("{\"name\":\"f\",\"parameters\":{}}"),
                        "{\"name\":\"f\",\"parameters\":{}}", List.of()),
                ScriptedEngine.finished(r, EngineEvent.FinishReason.STOP, 20));
        JsonNode message = json(post("/v1/chat/completions", chat(TOOLS)).body()).get("choices").get(0).get("message");
        assertThat(message.get("content").asString()).isEqualTo("Let me check.");
        assertThat(message.get("tool_calls").get(0).get("function").get("name").asString()).isEqualTo("f");
    }

    @Test
    void toolChoiceNoneKeepsJsonAsContentAndDropsTools() throws Exception {
        engine.script = r -> ScriptedEngine.text(r, "{\"name\": \"f\", \"parameters\": {}}");
        JsonNode choice = json(post("/v1/chat/completions", chat(TOOLS + ",\"tool_choice\":\"none\"")).body())
                .get("choices").get(0);
        assertThat(choice.get("finish_reason").asString()).isEqualTo("stop");
        assertThat(choice.get("message").get("content").asString()).isEqualTo("{\"name\": \"f\", \"parameters\": {}}");
        assertThat(encoder.last.tools()).isNull();
    }

    @Test
    void streamingToolCallOneCallPerChunkWithIndex() throws Exception {
        engine.script = r -> Flux.just(
                new EngineEvent.Tokens(new int[] {ScriptedEngine.PYTHON_TAG}, "", List.of()),
                new EngineEvent.Tokens(ScriptedEngine.ids("{\"name\": \"a\", "), "{\"name\": \"a\", ", List.of()),
                new EngineEvent.Tokens(ScriptedEngine.ids("\"parameters\": {\"x\": 1}}; "), "\"parameters\": {\"x\": 1}}; ", List.of()),
                new EngineEvent.Tokens(ScriptedEngine.ids("{\"name\": \"b\", \"parameters\": {}}"),
                        "{\"name\": \"b\", \"parameters\": {}}", List.of()),
                ScriptedEngine.finished(r, EngineEvent.FinishReason.STOP, 40));
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
        engine.script = r -> ScriptedEngine.text(r, " ", "Sun", "ny", " today");
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
        engine.script = r -> ScriptedEngine.text(r, "{\"name\": ", "\"f\", \"parameters\": {");
        List<String> data = Sse.data(post("/v1/chat/completions", chat(TOOLS + ",\"stream\":true")).body());
        assertThat(data).hasSize(4);
        assertThat(json(data.get(1)).get("choices").get(0).get("delta").get("content").asString())
                .isEqualTo("{\"name\": \"f\", \"parameters\": {");
        assertThat(json(data.get(2)).get("choices").get(0).get("finish_reason").asString()).isEqualTo("stop");
    }

    @Test
    void logprobsWithTopAlternativesAndTokenIds() throws Exception {
        engine.script = r -> Flux.just(
                new EngineEvent.Tokens(new int[] {'H'}, "H", List.of(new EngineEvent.TokenLogprob('H', -0.25f,
                        List.of(new EngineEvent.TopLogprob('H', -0.25f), new EngineEvent.TopLogprob('h', -1.5f),
                                new EngineEvent.TopLogprob('J', -3f))))),
                ScriptedEngine.finished(r, EngineEvent.FinishReason.STOP, 1));
        JsonNode lp = json(post("/v1/chat/completions", chat("\"logprobs\":true,\"top_logprobs\":2")).body())
                .get("choices").get(0).get("logprobs").get("content").get(0);
        assertThat(lp.get("token").asString()).isEqualTo("H");
        assertThat(lp.get("logprob").asDouble()).isEqualTo(-0.25);
        assertThat(lp.get("bytes").get(0).asInt()).isEqualTo('H');
        assertThat(lp.get("top_logprobs")).hasSize(2);
        assertThat(lp.get("top_logprobs").get(1).get("token").asString()).isEqualTo("h");
        assertThat(engine.submitted.get(0).params().logprobs()).isEqualTo(2);

        JsonNode ids = json(post("/v1/chat/completions",
                chat("\"logprobs\":true,\"return_tokens_as_token_ids\":true")).body())
                .get("choices").get(0).get("logprobs").get("content").get(0);
        assertThat(ids.get("token").asString()).isEqualTo("token_id:72");
        assertThat(ids.get("top_logprobs")).isEmpty();
        assertThat(engine.submitted.get(1).params().logprobs()).isEqualTo(0);
    }

    @Test
    void streamedLogprobsTravelWithTheirDelta() throws Exception {
        engine.script = r -> Flux.just(
                new EngineEvent.Tokens(new int[] {'o', 'k'}, "ok", List.of(
                        new EngineEvent.TokenLogprob('o', -0.5f, List.of()),
                        new EngineEvent.TokenLogprob('k', Float.NEGATIVE_INFINITY, List.of()))),
                ScriptedEngine.finished(r, EngineEvent.FinishReason.STOP, 2));
        List<String> data = Sse.data(post("/v1/chat/completions", chat("\"stream\":true,\"logprobs\":true")).body());
        JsonNode content = json(data.get(1)).get("choices").get(0).get("logprobs").get("content");
        assertThat(content).hasSize(2);
        assertThat(content.get(1).get("logprob").asDouble()).isEqualTo(-9999.0);
    }

    @Test
    void clientDisconnectAbortsTheRequest() throws Exception {
        engine.script = r -> Flux.interval(Duration.ofMillis(50))
                .map(i -> (EngineEvent) new EngineEvent.Tokens(new int[] {'x'}, "x", List.of()))
                .take(2000);
        String body = chat("\"stream\":true");
        try (Socket socket = new Socket("localhost", port)) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body)
                    .getBytes(StandardCharsets.UTF_8));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            int contentLines = 0;
            String line;
            while ((line = in.readLine()) != null && contentLines < 3) {
                if (line.contains("\"content\":\"x\"")) {
                    contentLines++;
                }
            }
            assertThat(contentLines).isEqualTo(3);
        }
        String id = engine.submitted.get(0).requestId();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!(engine.cancelled.contains(id) && engine.aborted.contains(id)) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(engine.cancelled).contains(id);
        assertThat(engine.aborted).contains(id);
    }

    @Test
    void streamingTextThenPythonTagThenCall() throws Exception {
        engine.script = r -> Flux.just(
                new EngineEvent.Tokens(ScriptedEngine.ids("Checking."), "Checking.", List.of()),
                new EngineEvent.Tokens(new int[] {ScriptedEngine.PYTHON_TAG}, "", List.of()),
                new EngineEvent.Tokens(ScriptedEngine.ids("{\"name\":\"f\",\"parameters\":{\"q\":[1,2]}}"),
                        "{\"name\":\"f\",\"parameters\":{\"q\":[1,2]}}", List.of()),
                ScriptedEngine.finished(r, EngineEvent.FinishReason.STOP, 30));
        List<String> data = Sse.data(post("/v1/chat/completions", chat(TOOLS + ",\"stream\":true")).body());
        assertThat(data).hasSize(5);
        assertThat(json(data.get(1)).get("choices").get(0).get("delta").get("content").asString()).isEqualTo("Checking.");
        JsonNode call = json(data.get(2)).get("choices").get(0).get("delta").get("tool_calls").get(0);
        assertThat(call.get("function").get("name").asString()).isEqualTo("f");
        assertThat(call.get("function").get("arguments").asString()).isEqualTo("{\"q\":[1,2]}");
        assertThat(json(data.get(3)).get("choices").get(0).get("finish_reason").asString()).isEqualTo("tool_calls");
    }

    @Test
    void clientDisconnectAbortsANonStreamingRequest() throws Exception {
        engine.script = r -> Flux.<EngineEvent>never();
        String body = chat("");
        try (Socket socket = new Socket("localhost", port)) {
            socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + body.getBytes(StandardCharsets.UTF_8).length
                    + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            socket.getOutputStream().flush();
            long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (engine.submitted.isEmpty() && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            assertThat(engine.submitted).hasSize(1);
        }
        String id = engine.submitted.get(0).requestId();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!engine.aborted.contains(id) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(engine.aborted).contains(id);
        assertThat(engine.cancelled).contains(id);
    }

    @Test
    void requestIdIsEchoedOrGenerated() throws Exception {
        HttpResponse<String> given = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/v1/chat/completions"))
                .header("Content-Type", "application/json").header("X-Request-Id", "trace-42")
                .POST(HttpRequest.BodyPublishers.ofString(chat(""))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(given.headers().firstValue("X-Request-Id")).hasValue("trace-42");
        HttpResponse<String> generated = post("/v1/chat/completions", chat(""));
        assertThat(generated.headers().firstValue("X-Request-Id").orElseThrow()).hasSizeGreaterThan(8);
        HttpResponse<String> error = post("/v1/nope", "{}");
        assertThat(error.headers().firstValue("X-Request-Id")).isPresent();
    }

    @Test
    void aliasesAndAnyCaseOfSamplingExtrasReachTheEngine() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", "{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"Hi\"}],\"max_tokens\":10,\"max_completion_tokens\":7,\"top_k\":40,\"min_p\":0.05,"
                + "\"repetition_penalty\":1.1,\"min_tokens\":2,\"ignore_eos\":true,\"seed\":1234,\"stop\":[\"END\"],"
                + "\"unknown_field\":{\"x\":[1,2]},\"user\":\"u1\"}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r.body()).get("model").asString()).isEqualTo("llama3");
        var p = engine.submitted.get(0).params();
        assertThat(p.maxTokens()).isEqualTo(7);
        assertThat(p.topK()).isEqualTo(40);
        assertThat(p.minP()).isEqualTo(0.05);
        assertThat(p.repetitionPenalty()).isEqualTo(1.1);
        assertThat(p.minTokens()).isEqualTo(2);
        assertThat(p.ignoreEos()).isTrue();
        assertThat(p.seed()).isEqualTo(1234L);
        assertThat(p.stop()).containsExactly("END");
    }

    private static int indexOf(List<String> events, String fragment) {
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i).contains(fragment)) {
                return i;
            }
        }
        throw new AssertionError("no event contains " + fragment + ": " + events);
    }

    static final String TOOLS = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
            + "\"description\":\"Weather\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}]";
}
