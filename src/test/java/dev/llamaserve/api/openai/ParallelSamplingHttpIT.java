package dev.llamaserve.api.openai;

import static dev.llamaserve.api.openai.ErrorMapHttpIT.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * {@code n} (parallel sampling) and {@code prompt_tokens_details.cached_tokens} (prefix caching) over real HTTP
 * on the REAL engine (demo checkpoint, random weights: texts are compared, never read).
 */
class ParallelSamplingHttpIT extends RealEngineWebTest {

    private static String sampled(int maxTokens, long seed, int n) {
        return "\"temperature\":1.0,\"top_p\":1.0,\"ignore_eos\":true,\"max_tokens\":" + maxTokens + ",\"seed\":" + seed
                + ",\"n\":" + n;
    }

    private JsonNode chatJson(String extra) throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", chat(extra));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r.body());
    }

    private static String content(JsonNode body, int choice) {
        return body.get("choices").get(choice).get("message").get("content").asString();
    }

    @Test
    void chatNWithASeedIsReproducibleAndEachChoiceIsASingleRunWithSeedPlusIndex() throws Exception {
        JsonNode four = chatJson(sampled(8, 42, 4));
        JsonNode again = chatJson(sampled(8, 42, 4));
        assertThat(four.get("choices")).hasSize(4);
        for (int i = 0; i < 4; i++) {
            JsonNode choice = four.get("choices").get(i);
            assertThat(choice.get("index").asInt()).isEqualTo(i);
            assertThat(choice.get("finish_reason").asString()).isEqualTo("length");
            assertThat(content(again, i)).as("choice %d reproducible", i).isEqualTo(content(four, i));
            JsonNode single = chatJson(sampled(8, 42 + i, 1));
            assertThat(single.get("choices")).hasSize(1);
            assertThat(content(single, 0)).as("choice %d = seed 42 + %d alone", i, i).isEqualTo(content(four, i));
        }
        JsonNode usage = four.get("usage");
        int prompt = usage.get("prompt_tokens").asInt();
        assertThat(prompt).isEqualTo(json(post("/v1/chat/completions", chat(sampled(1, 1, 1))).body())
                .get("usage").get("prompt_tokens").asInt());
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(4 * 8);
        assertThat(usage.get("total_tokens").asInt()).isEqualTo(prompt + 32);
    }

    @Test
    void chatNStreamsEveryChoiceWithItsIndexAndSumsTheUsage() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions",
                chat(sampled(6, 7, 3) + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<String> data = Sse.data(r.body());
        assertThat(data.get(data.size() - 1)).isEqualTo("[DONE]");
        Map<Integer, StringBuilder> text = new HashMap<>();
        Map<Integer, String> finish = new HashMap<>();
        List<Integer> roles = new ArrayList<>();
        JsonNode usage = null;
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode chunk = json(d);
            if (chunk.get("choices").isEmpty()) {
                usage = chunk.get("usage");
                continue;
            }
            assertThat(chunk.get("choices")).hasSize(1);
            JsonNode c = chunk.get("choices").get(0);
            int index = c.get("index").asInt();
            assertThat(index).isBetween(0, 2);
            JsonNode delta = c.get("delta");
            if (delta.has("role")) {
                roles.add(index);
            }
            if (delta.has("content")) {
                text.computeIfAbsent(index, k -> new StringBuilder()).append(delta.get("content").asString());
            }
            if (!c.get("finish_reason").isNull()) {
                assertThat(finish.put(index, c.get("finish_reason").asString())).as("one finish per choice").isNull();
            }
        }
        assertThat(roles).containsExactlyInAnyOrder(0, 1, 2);
        assertThat(finish).containsOnlyKeys(0, 1, 2).containsValues("length");
        assertThat(usage).as("usage chunk").isNotNull();
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(3 * 6);
        JsonNode whole = chatJson(sampled(6, 7, 3));
        for (int i = 0; i < 3; i++) {
            assertThat(text.get(i).toString()).as("choice %d streamed = not streamed", i).isEqualTo(content(whole, i));
        }
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(whole.get("usage").get("prompt_tokens").asInt());
    }

    @Test
    void completionsNGivesNChoicesEachASingleRunWithSeedPlusIndexStreamedWithIndexes() throws Exception {
        String body = "{\"model\":\"" + MODEL + "\",\"prompt\":\"Once upon a time\"," + sampled(5, 100, 2) + "}";
        HttpResponse<String> r = post("/v1/completions", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode two = json(r.body());
        assertThat(two.get("choices")).hasSize(2);
        assertThat(two.get("usage").get("completion_tokens").asInt()).isEqualTo(10);
        for (int i = 0; i < 2; i++) {
            assertThat(two.get("choices").get(i).get("index").asInt()).isEqualTo(i);
            JsonNode single = json(post("/v1/completions", body.replace(sampled(5, 100, 2), sampled(5, 100 + i, 1))).body());
            assertThat(two.get("choices").get(i).get("text").asString())
                    .isEqualTo(single.get("choices").get(0).get("text").asString());
        }
        List<String> data = Sse.data(post("/v1/completions", body.replace("}", ",\"stream\":true}")).body());
        StringBuilder[] text = {new StringBuilder(), new StringBuilder()};
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode c = json(d).get("choices").get(0);
            text[c.get("index").asInt()].append(c.get("text").asString());
        }
        for (int i = 0; i < 2; i++) {
            assertThat(text[i].toString()).isEqualTo(two.get("choices").get(i).get("text").asString());
        }
    }

    @Test
    void aRepeatedLongPromptReportsItsCachedTokens() throws Exception {
        StringBuilder words = new StringBuilder(UUID.randomUUID().toString());
        for (int i = 0; i < 150; i++) {
            words.append(" word").append(i);
        }
        String request = "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + words
                + "\"}]," + greedy(2) + "}";
        JsonNode first = json(post("/v1/chat/completions", request).body()).get("usage");
        JsonNode second = json(post("/v1/chat/completions", request).body()).get("usage");
        int prompt = second.get("prompt_tokens").asInt();
        assertThat(prompt).isGreaterThan(200);
        int firstCached = first.get("prompt_tokens_details").get("cached_tokens").asInt();
        assertThat(firstCached).as("a new prompt: at most the shared template header is cached").isLessThan(prompt / 4);
        assertThat(second.get("prompt_tokens_details").get("cached_tokens").asInt())
                .as("every full 16-token block of the prompt").isEqualTo((prompt - 1) / 16 * 16);
    }

    @Test
    void nOutOfRangeOrNotAnIntegerIs400() throws Exception {
        assertError(post("/v1/chat/completions", chat("\"n\":17")), 400, "invalid_request_error", "n", "invalid_value");
        assertError(post("/v1/chat/completions", chat("\"n\":0")), 400, "invalid_request_error", "n", "invalid_value");
        assertError(post("/v1/chat/completions", chat("\"n\":\"2\"")), 400, "invalid_request_error", "n", "invalid_type");
        assertError(post("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":\"x\",\"n\":17}"), 400,
                "invalid_request_error", "n", "invalid_value");
    }
}
