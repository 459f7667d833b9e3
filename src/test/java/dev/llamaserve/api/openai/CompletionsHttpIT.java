package dev.llamaserve.api.openai;

import static dev.llamaserve.api.openai.ErrorMapHttpIT.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.chat.PromptDryRun;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;

/** POST /v1/completions over real HTTP on the REAL engine (demo checkpoint). */
class CompletionsHttpIT extends RealEngineWebTest {

    @Autowired
    PromptDryRun dryRun;

    private String completion(String prompt, String extra) {
        return "{\"model\":\"" + MODEL + "\",\"prompt\":" + prompt + (extra.isEmpty() ? "" : "," + extra) + "}";
    }

    @Test
    void stringPromptGetsBeginOfTextOnceAndTheGreedyCompletion() throws Exception {
        String ids5 = greedy(5) + ",\"logprobs\":0,\"return_tokens_as_token_ids\":true";
        HttpResponse<String> r = post("/v1/completions", completion("\"The sky is\"", ids5));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = json(r.body());
        assertThat(body.get("id").asString()).startsWith("cmpl-");
        assertThat(body.get("object").asString()).isEqualTo("text_completion");
        assertThat(body.get("model").asString()).isEqualTo(MODEL);
        JsonNode choice = body.get("choices").get(0);
        assertThat(choice.get("finish_reason").asString()).isEqualTo("length");
        JsonNode tokens = choice.get("logprobs").get("tokens");
        assertThat(tokens).hasSize(5);
        int[] generated = new int[5];
        for (int i = 0; i < 5; i++) {
            generated[i] = Integer.parseInt(tokens.get(i).asString().substring("token_id:".length()));
        }
        // the text is the generated ids' text (special tokens have none)
        assertThat(choice.get("text").asString()).isEqualTo(tokenizer.decode(generated, true));
        int[] expectedPrompt = dryRun.tokenizePrompt("The sky is", true, MAX_MODEL_LEN).tokens();
        assertThat(body.get("usage").get("prompt_tokens").asInt()).isEqualTo(expectedPrompt.length);
        assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(5);
        assertThat(body.get("usage").get("total_tokens").asInt()).isEqualTo(expectedPrompt.length + 5);

        // written by hand with <|begin_of_text|>: not doubled, same prompt, same greedy text
        JsonNode bos = json(post("/v1/completions", completion("\"<|begin_of_text|>The sky is\"", ids5)).body());
        assertThat(bos.get("usage").get("prompt_tokens").asInt()).isEqualTo(expectedPrompt.length);
        assertThat(bos.get("choices").get(0).get("logprobs").get("tokens")).isEqualTo(tokens);

        // add_special_tokens false (vLLM's field, as /tokenize reads it): no <|begin_of_text|> put first
        JsonNode bare = json(post("/v1/completions", completion("\"The sky is\"", ids5 + ",\"add_special_tokens\":false"))
                .body());
        assertThat(bare.get("usage").get("prompt_tokens").asInt())
                .isEqualTo(dryRun.tokenizePrompt("The sky is", false, MAX_MODEL_LEN).count())
                .isEqualTo(expectedPrompt.length - 1);

        // the same ids given as a token array: used as given, same text
        JsonNode ids = json(post("/v1/completions", completion(Arrays.toString(expectedPrompt).replace(" ", ""),
                ids5)).body());
        assertThat(ids.get("usage").get("prompt_tokens").asInt()).isEqualTo(expectedPrompt.length);
        assertThat(ids.get("choices").get(0).get("logprobs").get("tokens")).isEqualTo(tokens);
        // without logprobs: the same text, logprobs null
        JsonNode plain = json(post("/v1/completions", completion("\"The sky is\"", greedy(5))).body()).get("choices").get(0);
        assertThat(plain.get("text").asString()).isEqualTo(choice.get("text").asString());
        assertThat(plain.get("logprobs").isNull()).isTrue();
    }

    @Test
    void specialTokenTextInAPromptIsParsed() throws Exception {
        JsonNode body = json(post("/v1/completions", completion(
                "\"<|start_header_id|>user<|end_header_id|>\\n\\nHi<|eot_id|>\"", greedy(1))).body());
        int[] ids = dryRun.tokenizePrompt("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", true, MAX_MODEL_LEN)
                .tokens();
        assertThat(ids).contains(tokenizer.addedTokenId("<|eot_id|>").orElseThrow());
        assertThat(body.get("usage").get("prompt_tokens").asInt()).isEqualTo(ids.length);
    }

    @Test
    void maxTokensDefaultsToSixteen() throws Exception {
        JsonNode body = json(post("/v1/completions", completion("\"Once\"", "\"ignore_eos\":true")).body());
        assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(16);
    }

    /**
     * Sampled (the pick is often not the most likely): each top_logprobs map holds the sampled token too (OpenAI:
     * "up to logprobs + 1 elements"). And a character split across tokens (the two bytes of "é", forced by
     * logit_bias) moves the offsets only once it is whole: every offset stays inside the returned text.
     */
    /** max_completion_tokens is chat's field: the legacy endpoint reads max_tokens only, as OpenAI's does. */
    @Test
    void legacyCompletionsReadMaxTokensOnly() throws Exception {
        HttpResponse<String> r = post("/v1/completions", completion("\"Hi\"",
                "\"max_tokens\":3,\"max_completion_tokens\":0,\"ignore_eos\":true,\"temperature\":0"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r.body()).get("usage").get("completion_tokens").asInt()).isEqualTo(3);
    }

    @Test
    void legacyLogprobsHoldTheSampledTokenAndOffsetsFollowTheText() throws Exception {
        JsonNode lp = json(post("/v1/completions", completion("\"Hi\"", "\"max_tokens\":8,\"temperature\":1.0,"
                + "\"seed\":5,\"logprobs\":1")).body()).get("choices").get(0).get("logprobs");
        for (int i = 0; i < lp.get("tokens").size(); i++) {
            JsonNode top = lp.get("top_logprobs").get(i);
            String token = lp.get("tokens").get(i).asString();
            assertThat(top.size()).as("top %s", top).isBetween(1, 2);
            assertThat(top.has(token)).as("the sampled %s in %s", token, top).isTrue();
            assertThat(top.get(token).asDouble()).isEqualTo(lp.get("token_logprobs").get(i).asDouble());
        }

        int c3 = FixtureTokenizer.byteToken(tokenizer, 0xC3);
        int a9 = FixtureTokenizer.byteToken(tokenizer, 0xA9);
        for (String stream : List.of("false", "true")) {
            String body = completion("\"Hi\"", "\"max_tokens\":6,\"temperature\":1.0,\"seed\":10,\"logprobs\":0,"
                    + "\"stream\":" + stream + ",\"logit_bias\":{\"" + c3 + "\":100,\"" + a9 + "\":100}");
            String text;
            List<Integer> offsets = new java.util.ArrayList<>();
            if (stream.equals("false")) {
                JsonNode choice = json(post("/v1/completions", body).body()).get("choices").get(0);
                text = choice.get("text").asString();
                choice.get("logprobs").get("text_offset").forEach(o -> offsets.add(o.asInt()));
            } else {
                StringBuilder sent = new StringBuilder();
                for (String data : Sse.data(post("/v1/completions", body).body())) {
                    if (data.equals("[DONE]") || !data.contains("\"text_offset\"")) {
                        continue;
                    }
                    JsonNode choice = json(data).get("choices").get(0);
                    choice.get("logprobs").get("text_offset").forEach(o -> offsets.add(o.asInt()));
                    sent.append(choice.get("text").asString());
                }
                text = sent.toString();
            }
            assertThat(text).as(stream).contains("é");
            assertThat(offsets).as("stream %s: offsets in %s", stream, text).hasSize(6).isSorted()
                    .allMatch(o -> o <= text.length());
            assertThat(offsets.get(0)).isZero();
        }
    }

    @Test
    void legacyLogprobs() throws Exception {
        JsonNode choice = json(post("/v1/completions", completion("\"Once upon\"", greedy(5) + ",\"logprobs\":3")).body())
                .get("choices").get(0);
        JsonNode lp = choice.get("logprobs");
        assertThat(lp.get("tokens")).hasSize(5);
        assertThat(lp.get("token_logprobs")).hasSize(5);
        assertThat(lp.get("top_logprobs")).hasSize(5);
        assertThat(lp.get("text_offset")).hasSize(5);
        int offset = 0;
        for (int i = 0; i < 5; i++) {
            String token = lp.get("tokens").get(i).asString();
            assertThat(lp.get("text_offset").get(i).asInt()).isEqualTo(offset);
            boolean special = tokenizer.addedTokenId(token).map(tokenizer::isSpecial).orElse(false);
            offset += special ? 0 : token.length(); // special tokens have no text
            JsonNode top = lp.get("top_logprobs").get(i);
            assertThat(top.size()).isBetween(1, 3);
            // greedy: the chosen token is the most likely, with the same logprob
            assertThat(top.properties().iterator().next().getKey()).isEqualTo(token);
            assertThat(top.get(token).asDouble()).isEqualTo(lp.get("token_logprobs").get(i).asDouble());
            assertThat(lp.get("token_logprobs").get(i).asDouble()).isNegative();
        }
        StringBuilder tokens = new StringBuilder();
        lp.get("tokens").forEach(t -> {
            if (!tokenizer.addedTokenId(t.asString()).map(tokenizer::isSpecial).orElse(false)) {
                tokens.append(t.asString());
            }
        });
        assertThat(tokens.toString()).isEqualTo(choice.get("text").asString());
    }

    @Test
    void streamIsLegacyChunksThenUsageThenDone() throws Exception {
        String whole = json(post("/v1/completions", completion("\"The sky is\"", greedy(6))).body())
                .get("choices").get(0).get("text").asString();
        HttpResponse<String> r = post("/v1/completions", completion("\"The sky is\"",
                greedy(6) + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/event-stream");
        List<String> data = Sse.data(r.body());
        int n = data.size();
        assertThat(data.get(n - 1)).isEqualTo("[DONE]");
        String id = json(data.get(0)).get("id").asString();
        StringBuilder text = new StringBuilder();
        for (String chunk : data.subList(0, n - 2)) {
            JsonNode c = json(chunk);
            assertThat(c.get("id").asString()).isEqualTo(id);
            assertThat(c.get("object").asString()).isEqualTo("text_completion");
            assertThat(c.has("usage")).isFalse();
            text.append(c.get("choices").get(0).get("text").asString());
        }
        assertThat(json(data.get(n - 3)).get("choices").get(0).get("finish_reason").asString()).isEqualTo("length");
        JsonNode usage = json(data.get(n - 2));
        assertThat(usage.get("choices")).isEmpty();
        assertThat(usage.get("usage").get("completion_tokens").asInt()).isEqualTo(6);
        assertThat(text.toString()).isEqualTo(whole);
    }

    /**
     * vLLM's {@code stop_reason} on every choice: the stop string matched, or the stop token id generated, else null
     * (present, and null, where the choice ended by its length); streamed, on the choice's last chunk.
     */
    @Test
    void stopReasonNamesTheStopStringOrTheStopTokenId() throws Exception {
        JsonNode whole = json(post("/v1/completions", completion("\"The sky is\"",
                greedy(6) + ",\"logprobs\":0,\"return_tokens_as_token_ids\":true")).body()).get("choices").get(0);
        assertThat(whole.get("finish_reason").asString()).isEqualTo("length");
        assertThat(whole.has("stop_reason")).isTrue();
        assertThat(whole.get("stop_reason").isNull()).isTrue();
        String third = whole.get("logprobs").get("tokens").get(2).asString();   // token_id:<id>
        int id = Integer.parseInt(third.substring(third.indexOf(':') + 1));
        JsonNode byId = json(post("/v1/completions", completion("\"The sky is\"",
                greedy(6) + ",\"stop_token_ids\":[" + id + "]")).body()).get("choices").get(0);
        assertThat(byId.get("finish_reason").asString()).isEqualTo("stop");
        assertThat(byId.get("stop_reason").isIntegralNumber()).as(byId.toString()).isTrue();
        assertThat(byId.get("stop_reason").asInt()).isEqualTo(id);

        // a prompt whose greedy tokens have text (the demo model's first ones for "The sky is" are special)
        String prompt = null;
        String text = "";
        for (String p : List.of("\"The sky is\"", "\"Hi\"", "\"Hello, my name is\"", "\"1, 2, 3,\"")) {
            text = json(post("/v1/completions", completion(p, greedy(6))).body()).get("choices").get(0).get("text")
                    .asString();
            if (!text.isEmpty()) {
                prompt = p;
                break;
            }
        }
        assertThat(prompt).as("a prompt whose greedy completion has text").isNotNull();
        String stop = text.substring(0, text.offsetByCodePoints(0, 1));
        String request = completion(prompt, greedy(6) + ",\"stop\":" + OpenAiJson.MAPPER.writeValueAsString(stop));
        JsonNode byString = json(post("/v1/completions", request).body()).get("choices").get(0);
        assertThat(byString.get("finish_reason").asString()).isEqualTo("stop");
        assertThat(byString.get("stop_reason").asString()).isEqualTo(stop);
        List<String> data = Sse.data(post("/v1/completions",
                request.substring(0, request.length() - 1) + ",\"stream\":true}").body());
        int n = data.size();
        assertThat(data.get(n - 1)).isEqualTo("[DONE]");
        JsonNode last = json(data.get(n - 2)).get("choices").get(0);
        assertThat(last.get("finish_reason").asString()).isEqualTo("stop");
        assertThat(last.get("stop_reason").asString()).isEqualTo(stop);
        for (String chunk : data.subList(0, n - 2)) {
            assertThat(json(chunk).get("choices").get(0).get("stop_reason").isNull()).as(chunk).isTrue();
        }
    }

    @Test
    void refusals() throws Exception {
        assertError(post("/v1/completions", completion("\"x\"", "\"echo\":true")), 400, "invalid_request_error", "echo",
                "unsupported_value");
        assertError(post("/v1/completions", "{\"max_tokens\":3}"), 400, "invalid_request_error", "prompt",
                "missing_required_parameter");
        assertError(post("/v1/completions", completion("[1,2,999999999]", "")), 400, "invalid_request_error", "prompt",
                "invalid_value");
        assertError(post("/v1/completions", completion("[\"a\",\"b\"]", "")), 400, "invalid_request_error", "prompt",
                "unsupported_value");
        assertError(post("/v1/completions", completion("\"x\"", "\"logprobs\":21")), 400, "invalid_request_error",
                "logprobs", "invalid_value");
        int[] long_ = new int[MAX_MODEL_LEN];
        Arrays.fill(long_, 64);
        assertError(post("/v1/completions", completion(Arrays.toString(long_).replace(" ", ""), "")), 400,
                "invalid_request_error", "prompt", "context_length_exceeded");
        // a text far over the context: refused from a part of it, as chat's (the count is a floor)
        HttpResponse<String> huge = post("/v1/completions", completion("\"" + " a".repeat(300_000) + "\"", ""));
        assertError(huge, 400, "invalid_request_error", "prompt", "context_length_exceeded");
        assertThat(ErrorMapHttpIT.error(huge).get("message").asString()).contains("resulted in at least");
        // prompt + max_tokens over the context: the field to change is max_tokens (as on /v1/chat/completions)
        assertError(post("/v1/completions", completion("\"x\"", "\"max_tokens\":" + MAX_MODEL_LEN)), 400,
                "invalid_request_error", "max_tokens", "context_length_exceeded");
        assertError(post("/v1/completions", "{\"model\":\"gpt-5\",\"prompt\":\"x\"}"), 404, "invalid_request_error",
                "model", "model_not_found");
    }

    /** A prompt of no tokens is a 400 however it came to none: [] or "" without the BOS (not a 500). */
    @Test
    void aPromptOfNoTokensIsRefused() throws Exception {
        assertError(post("/v1/completions", completion("[]", "\"max_tokens\":1")), 400, "invalid_request_error",
                "prompt", "invalid_value");
        assertError(post("/v1/completions", completion("\"\"", "\"max_tokens\":1,\"add_special_tokens\":false")),
                400, "invalid_request_error", "prompt", "invalid_value");
        assertThat(post("/v1/completions", completion("\"\"", "\"max_tokens\":1")).statusCode()).isEqualTo(200);
    }

    /** A vLLM option that would change the answer is refused by name, never answered as if absent. */
    @Test
    void vllmGuidedDecodingIsRefusedByName() throws Exception {
        assertError(post("/v1/completions", completion("\"x\"", "\"guided_json\":{\"type\":\"object\"}")), 400,
                "invalid_request_error", "guided_json", "unsupported_value");
    }

    /** min_tokens is checked against the max_tokens the request runs with, the default 16 included (as vLLM). */
    @Test
    void minTokensAboveTheDefaultMaxTokensIsRefused() throws Exception {
        assertError(post("/v1/completions", completion("\"x\"", "\"min_tokens\":17")), 400, "invalid_request_error",
                "min_tokens", "invalid_value");
        assertError(post("/v1/completions", completion("\"x\"", "\"min_tokens\":17,\"max_tokens\":16")), 400,
                "invalid_request_error", "min_tokens", "invalid_value");
        HttpResponse<String> ok = post("/v1/completions", completion("\"x\"", "\"min_tokens\":16,\"temperature\":0"));
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(json(ok.body()).get("usage").get("completion_tokens").asInt()).isEqualTo(16);
    }
}
