package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.chat.ChatInput;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.SamplingParams;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import reactor.adapter.JdkFlowAdapter;
import tools.jackson.databind.JsonNode;

/** POST /v1/chat/completions over real HTTP on the REAL engine (demo checkpoint, see {@link RealEngineWebTest}). */
class ChatCompletionsHttpIT extends RealEngineWebTest {

    @Autowired
    ChatFormat chatFormat;

    /** The prompt ids the chat layer makes of the one-message "Hi" conversation. */
    private int[] hiPrompt() {
        return chatFormat.prepare(ChatInput.of(json("[{\"role\":\"user\",\"content\":\"Hi\"}]"))).tokenIds();
    }

    @Test
    void nonStreamingCompletion() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", chat(greedy(8)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        JsonNode body = json(r.body());
        assertThat(body.get("id").asString()).startsWith("chatcmpl-");
        assertThat(body.get("object").asString()).isEqualTo("chat.completion");
        assertThat(body.get("model").asString()).isEqualTo(MODEL);
        JsonNode choice = body.get("choices").get(0);
        assertThat(choice.get("message").get("role").asString()).isEqualTo("assistant");
        assertThat(choice.get("message").get("content").asString()).isNotEmpty();
        // OpenAI's schema requires refusal (nullable): sent, and null
        assertThat(choice.get("message").has("refusal")).isTrue();
        assertThat(choice.get("message").get("refusal").isNull()).isTrue();
        assertThat(choice.get("finish_reason").asString()).isEqualTo("length");
        assertThat(choice.get("logprobs").isNull()).isTrue();
        int prompt = hiPrompt().length;
        assertThat(body.get("usage").get("prompt_tokens").asInt()).isEqualTo(prompt);
        assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(8);
        assertThat(body.get("usage").get("total_tokens").asInt()).isEqualTo(prompt + 8);
        // greedy decoding: the same request gives the same text
        JsonNode again = json(post("/v1/chat/completions", chat(greedy(8))).body());
        assertThat(again.get("choices").get(0).get("message").get("content").asString())
                .isEqualTo(choice.get("message").get("content").asString());
        assertThat(again.get("id").asString()).isNotEqualTo(body.get("id").asString());
    }

    @Test
    void streamIsExactlyOpenAiFraming() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions",
                chat(greedy(6) + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/event-stream");
        assertThat(r.body()).endsWith("data: [DONE]\n\n");
        List<String> data = Sse.data(r.body());
        JsonNode first = json(data.get(0));
        String id = first.get("id").asString();
        long created = first.get("created").asLong();
        String head = "{\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":" + created
                + ",\"model\":\"" + MODEL + "\",";
        int prompt = hiPrompt().length;
        int n = data.size();
        assertThat(n).isGreaterThanOrEqualTo(5);
        assertThat(data.get(0)).isEqualTo(head
                + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}");
        StringBuilder text = new StringBuilder();
        for (String chunk : data.subList(1, n - 3)) {
            String content = json(chunk).get("choices").get(0).get("delta").get("content").asString();
            assertThat(content).isNotEmpty();
            assertThat(chunk).isEqualTo(head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":"
                    + OpenAiJson.MAPPER.writeValueAsString(content) + "},\"logprobs\":null,\"finish_reason\":null}]}");
            text.append(content);
        }
        assertThat(data.get(n - 3)).isEqualTo(head
                + "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"length\"}]}");
        // cached_tokens: the prompt's full KV blocks that earlier requests of this shared engine left cached
        int cached = json(data.get(n - 2)).get("usage").get("prompt_tokens_details").get("cached_tokens").asInt();
        assertThat(cached).isBetween(0, prompt - 1);
        assertThat(data.get(n - 2)).isEqualTo(head + "\"choices\":[],\"usage\":{\"prompt_tokens\":" + prompt
                + ",\"completion_tokens\":6,\"total_tokens\":" + (prompt + 6)
                + ",\"prompt_tokens_details\":{\"cached_tokens\":" + cached + "}}}");
        assertThat(data.get(n - 1)).isEqualTo("[DONE]");
        // the stream carries the same text as the non-streaming answer to the same greedy request
        String whole = json(post("/v1/chat/completions", chat(greedy(6))).body())
                .get("choices").get(0).get("message").get("content").asString();
        assertThat(text.toString()).isEqualTo(whole);
    }

    /**
     * vLLM's {@code stop_reason}: the stop string that ended the answer, on the choice and on the stream's last chunk
     * of the choice; null on the choice where the length ended it, and then left out of the stream's chunks.
     */
    @Test
    void stopReasonNamesTheStopStringThatEndedTheAnswer() throws Exception {
        JsonNode cut = json(post("/v1/chat/completions", chat(greedy(6))).body()).get("choices").get(0);
        assertThat(cut.get("finish_reason").asString()).isEqualTo("length");
        assertThat(cut.has("stop_reason")).isTrue();
        assertThat(cut.get("stop_reason").isNull()).isTrue();
        String text = cut.get("message").get("content").asString();
        String stop = text.substring(0, text.offsetByCodePoints(0, 1));
        String extra = greedy(6) + ",\"stop\":[" + OpenAiJson.MAPPER.writeValueAsString(stop) + "]";
        JsonNode stopped = json(post("/v1/chat/completions", chat(extra)).body()).get("choices").get(0);
        assertThat(stopped.get("finish_reason").asString()).isEqualTo("stop");
        assertThat(stopped.get("stop_reason").asString()).isEqualTo(stop);
        List<String> data = Sse.data(post("/v1/chat/completions", chat(extra + ",\"stream\":true")).body());
        JsonNode last = json(data.get(data.size() - 2)).get("choices").get(0);
        assertThat(last.get("finish_reason").asString()).isEqualTo("stop");
        assertThat(last.get("stop_reason").asString()).isEqualTo(stop);
        assertThat(data.subList(0, data.size() - 2)).noneMatch(d -> d.contains("stop_reason"));
    }

    @Test
    void streamWithoutUsageOptionHasNoUsageChunk() throws Exception {
        List<String> data = Sse.data(post("/v1/chat/completions", chat(greedy(3) + ",\"stream\":true")).body());
        assertThat(json(data.get(data.size() - 2)).get("choices").get(0).get("finish_reason").asString())
                .isEqualTo("length");
        assertThat(data.get(data.size() - 1)).isEqualTo("[DONE]");
        assertThat(data).noneMatch(d -> d.contains("usage"));
    }

    @Test
    void logprobsAreWhatTheEngineComputes() throws Exception {
        JsonNode choice = json(post("/v1/chat/completions", chat(greedy(5) + ",\"logprobs\":true,\"top_logprobs\":3"))
                .body()).get("choices").get(0);
        JsonNode content = choice.get("logprobs").get("content");
        assertThat(content).hasSize(5);
        assertThat(choice.get("logprobs").has("refusal")).isTrue();
        assertThat(choice.get("logprobs").get("refusal").isNull()).isTrue();

        // the same request straight to the engine (greedy, alone in its batch: the same numbers)
        List<EngineEvent.TokenLogprob> expected = new ArrayList<>();
        SamplingParams params = SamplingParams.builder().temperature(0.0).ignoreEos(true).maxTokens(5).logprobs(3).build();
        JdkFlowAdapter.flowPublisherToFlux(engine.submit(new GenerationRequest("direct-" + System.nanoTime(), hiPrompt(),
                        params)))
                .filter(e -> e instanceof EngineEvent.Tokens)
                .doOnNext(e -> expected.addAll(((EngineEvent.Tokens) e).logprobs()))
                .blockLast();
        assertThat(expected).hasSize(5);
        java.io.ByteArrayOutputStream text = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < 5; i++) {
            EngineEvent.TokenLogprob e = expected.get(i);
            JsonNode lp = content.get(i);
            assertThat(lp.get("token").asString()).isEqualTo(LogprobTokens.text(tokenizer, e.tokenId(), false));
            assertThat(lp.get("logprob").asDouble()).isEqualTo((double) e.logprob());
            assertThat(lp.get("bytes")).hasSize(tokenizer.tokenBytes(e.tokenId()).length);
            assertThat(lp.get("top_logprobs")).hasSize(3);
            for (int k = 0; k < 3; k++) {
                EngineEvent.TopLogprob t = e.top().get(k);
                assertThat(lp.get("top_logprobs").get(k).get("token").asString())
                        .isEqualTo(LogprobTokens.text(tokenizer, t.tokenId(), false));
                assertThat(lp.get("top_logprobs").get(k).get("logprob").asDouble()).isEqualTo((double) t.logprob());
            }
            // greedy: the chosen token is the most likely one
            assertThat(e.top().get(0).tokenId()).isEqualTo(e.tokenId());
            text.writeBytes(tokenizer.tokenBytes(e.tokenId()));
        }
        assertThat(choice.get("message").get("content").asString())
                .isEqualTo(text.toString(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void returnTokensAsTokenIdsNamesTheIdsTheEngineChose() throws Exception {
        JsonNode choice = json(post("/v1/chat/completions",
                chat(greedy(4) + ",\"logprobs\":true,\"return_tokens_as_token_ids\":true")).body()).get("choices").get(0);
        JsonNode content = choice.get("logprobs").get("content");
        assertThat(content).hasSize(4);
        int[] ids = new int[4];
        for (int i = 0; i < 4; i++) {
            String token = content.get(i).get("token").asString();
            assertThat(token).matches("token_id:\\d+");
            ids[i] = Integer.parseInt(token.substring("token_id:".length()));
            assertThat(content.get(i).get("top_logprobs")).isEmpty();
        }
        assertThat(tokenizer.decode(ids, true)).isEqualTo(choice.get("message").get("content").asString());
    }

    @Test
    void streamedLogprobsTravelWithTheirDelta() throws Exception {
        List<String> data = Sse.data(post("/v1/chat/completions",
                chat(greedy(5) + ",\"stream\":true,\"logprobs\":true")).body());
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        StringBuilder text = new StringBuilder();
        int entries = 0;
        for (String chunk : data.subList(1, data.size() - 2)) {
            JsonNode c = json(chunk).get("choices").get(0);
            text.append(c.get("delta").get("content").asString());
            assertThat(c.get("logprobs").has("refusal")).as(chunk).isTrue();
            assertThat(c.get("logprobs").get("refusal").isNull()).as(chunk).isTrue();
            for (JsonNode e : c.get("logprobs").get("content")) {
                e.get("bytes").forEach(b -> bytes.write(b.asInt()));
                entries++;
            }
        }
        assertThat(entries).isEqualTo(5);
        // the tokens' bytes, in order, are the streamed text
        assertThat(bytes.toString(java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(text.toString());
    }

    /**
     * An answer that ends with {@code <|eot_id|>} (forced by logit_bias once min_tokens allows it): the end token
     * has no logprobs entry, as in OpenAI's, streamed or not, and no chunk of its own; the entries' bytes are the
     * content.
     */
    @Test
    void theEndTokenHasNoLogprobsEntry() throws Exception {
        int eot = tokenizer.addedTokenId("<|eot_id|>").orElseThrow();
        String params = "\"temperature\":0,\"max_tokens\":8,\"min_tokens\":3,\"logprobs\":true,\"top_logprobs\":2,"
                + "\"logit_bias\":{\"" + eot + "\":100}";
        JsonNode choice = json(post("/v1/chat/completions", chat(params)).body()).get("choices").get(0);
        assertThat(choice.get("finish_reason").asString()).isEqualTo("stop");
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        choice.get("logprobs").get("content").forEach(e -> e.get("bytes").forEach(b -> bytes.write(b.asInt())));
        assertThat(choice.get("logprobs").get("content")).hasSize(3);
        String content = choice.get("message").get("content").asString();
        assertThat(bytes.toString(java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(content);

        List<String> data = Sse.data(post("/v1/chat/completions", chat(params + ",\"stream\":true")).body());
        java.io.ByteArrayOutputStream streamedBytes = new java.io.ByteArrayOutputStream();
        StringBuilder text = new StringBuilder();
        int entries = 0;
        for (String chunk : data.subList(1, data.size() - 2)) {
            JsonNode c = json(chunk).get("choices").get(0);
            assertThat(c.get("logprobs").get("content")).as("a chunk without an entry: %s", chunk).isNotEmpty();
            text.append(c.get("delta").get("content").asString());
            for (JsonNode e : c.get("logprobs").get("content")) {
                e.get("bytes").forEach(b -> streamedBytes.write(b.asInt()));
                entries++;
            }
        }
        assertThat(json(data.get(data.size() - 2)).get("choices").get(0).get("finish_reason").asString())
                .isEqualTo("stop");
        assertThat(entries).isEqualTo(3);
        assertThat(text.toString()).isEqualTo(content);
        assertThat(streamedBytes.toString(java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(content);
    }

    @Test
    void requestIdIsEchoedOrGenerated() throws Exception {
        HttpResponse<String> given = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/v1/chat/completions"))
                .header("Content-Type", "application/json").header("X-Request-Id", "trace-42")
                .POST(HttpRequest.BodyPublishers.ofString(chat(greedy(1)))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(given.statusCode()).isEqualTo(200);
        assertThat(given.headers().firstValue("X-Request-Id")).hasValue("trace-42");
        HttpResponse<String> generated = post("/v1/chat/completions", chat(greedy(1)));
        assertThat(generated.headers().firstValue("X-Request-Id").orElseThrow()).hasSizeGreaterThan(8);
        HttpResponse<String> error = post("/v1/nope", "{}");
        assertThat(error.headers().firstValue("X-Request-Id")).isPresent();
    }

    @Test
    void aliasesAndSamplingExtrasAreServed() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", "{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"Hi\"}],\"max_tokens\":10,\"max_completion_tokens\":7,\"top_k\":40,\"min_p\":0.05,"
                + "\"repetition_penalty\":1.1,\"min_tokens\":2,\"ignore_eos\":true,\"seed\":1234,"
                + "\"unknown_field\":{\"x\":[1,2]},\"user\":\"u1\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = json(r.body());
        assertThat(body.get("model").asString()).isEqualTo("llama3");
        // max_completion_tokens wins over max_tokens; ignore_eos runs it to the limit
        assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(7);
        assertThat(body.get("choices").get(0).get("finish_reason").asString()).isEqualTo("length");
        // the same seed gives the same sampled text
        JsonNode again = json(post("/v1/chat/completions", "{\"model\":\"org/demo-alias\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"Hi\"}],\"max_tokens\":10,\"max_completion_tokens\":7,\"top_k\":40,\"min_p\":0.05,"
                + "\"repetition_penalty\":1.1,\"min_tokens\":2,\"ignore_eos\":true,\"seed\":1234}").body());
        assertThat(again.get("choices").get(0).get("message").get("content").asString())
                .isEqualTo(body.get("choices").get(0).get("message").get("content").asString());
    }
}
