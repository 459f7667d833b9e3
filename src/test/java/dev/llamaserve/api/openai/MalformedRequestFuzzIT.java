package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.JsonNode;

/**
 * 10,000 requests over real HTTP on the REAL engine (demo checkpoint, see {@link RealEngineWebTest})
 * mixing malformed bodies (bad JSON, wrong types, huge numbers, invalid UTF-8, missing fields, deep
 * nesting) with valid control requests (1-2 tokens with ignore_eos, to stay fast): no answer is a 5xx,
 * every malformed one gets an OpenAI error body, every valid control request succeeds with exactly the
 * tokens it asked for.
 */
class MalformedRequestFuzzIT extends RealEngineWebTest {

    private static final int REQUESTS = 10_000;

    private static final String[] PARAMS = {"temperature", "top_p", "max_tokens", "max_completion_tokens", "n",
            "stop", "seed", "logprobs", "top_logprobs", "logit_bias", "stream", "stream_options", "tools",
            "tool_choice", "response_format", "top_k", "min_p", "repetition_penalty", "min_tokens", "ignore_eos",
            "presence_penalty", "frequency_penalty", "model", "messages", "chat_template_kwargs",
            "return_tokens_as_token_ids"};

    private static final String[] WRONG_VALUES = {"\"x\"", "[]", "{}", "true", "null", "-1", "0", "1e999999999",
            "-1e999999999", "123456789012345678901234567890123456789", "0.000000000000000000000000001", "1.5",
            "[1,2,3]", "{\"a\":{\"b\":[null]}}", "\"\\u0000\"", "\"\\ud800\"", "-0", "2147483648", "9.99e307",
            "[\"a\",\"b\",\"c\",\"d\",\"e\"]", "{\"type\":\"json_object\"}", "{\"include_usage\":\"yes\"}"};

    private static final int CLIENTS = 4;

    /** Keeps a body that turns out valid short (a later max_tokens/max_completion_tokens overrides it). */
    private static final String LIMIT = "\"max_tokens\":2";

    @Test
    void noMalformedRequestIsA5xxAndEveryValidOneSucceeds() throws Exception {
        AtomicInteger valid = new AtomicInteger();
        AtomicInteger malformed = new AtomicInteger();
        List<String> failures = new CopyOnWriteArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        long start = System.nanoTime();
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int w = 0; w < CLIENTS; w++) {
                long seed = 20261129L + w;
                workers.add(pool.submit(() -> run(new Random(seed), REQUESTS / CLIENTS, valid, malformed, failures)));
            }
            for (Future<?> f : workers) {
                f.get(10, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.printf("fuzz: %d requests (%d valid, %d malformed) on %d clients in %d ms%n",
                valid.get() + malformed.get(), valid.get(), malformed.get(), CLIENTS, millis);
        assertThat(failures).isEmpty();
        assertThat(valid.get() + malformed.get()).isEqualTo(REQUESTS);
    }

    private void run(Random random, int requests, AtomicInteger valid, AtomicInteger malformed, List<String> failures) {
        WebTestClient client = client();
        for (int i = 0; i < requests && failures.size() <= 20; i++) {
            if (i % 3 == 0) {
                valid.incrementAndGet();
                boolean stream = random.nextBoolean();
                int tokens = 1 + random.nextInt(2);
                String body = chat("\"ignore_eos\":true,\"max_tokens\":" + tokens + ",\"temperature\":"
                        + random.nextInt(3) * 0.5 + (stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : ""));
                EntityExchangeResult<byte[]> r = send(client, body.getBytes(StandardCharsets.UTF_8));
                String text = r.getResponseBody() == null ? "" : new String(r.getResponseBody(), StandardCharsets.UTF_8);
                boolean ok;
                if (r.getStatus().value() != 200) {
                    ok = false;
                } else if (stream) {
                    List<String> data = Sse.data(text);
                    ok = text.endsWith("data: [DONE]\n\n") && data.size() >= 4
                            && OpenAiJson.MAPPER.readTree(data.get(data.size() - 2)).get("usage")
                                    .get("completion_tokens").asInt() == tokens;
                } else {
                    JsonNode answer = OpenAiJson.MAPPER.readTree(text);
                    ok = answer.get("choices").get(0).get("message").get("content").isString()
                            && answer.get("usage").get("completion_tokens").asInt() == tokens;
                }
                if (!ok) {
                    failures.add("valid request -> " + r.getStatus() + " " + text);
                }
            } else {
                malformed.incrementAndGet();
                byte[] body = malformed(random);
                EntityExchangeResult<byte[]> r = send(client, body);
                int status = r.getStatus().value();
                String text = r.getResponseBody() == null ? "" : new String(r.getResponseBody(), StandardCharsets.UTF_8);
                if (status >= 500) {
                    failures.add("malformed -> " + status + " " + text + " for "
                            + new String(body, 0, Math.min(body.length, 300), StandardCharsets.UTF_8));
                } else if (status != 200) {
                    JsonNode error = OpenAiJson.MAPPER.readTree(text).get("error");
                    if (error == null || !error.has("message") || !error.has("type") || !error.has("param")
                            || !error.has("code")) {
                        failures.add("malformed -> " + status + " without an OpenAI error body: " + text);
                    }
                }
            }
        }
    }

    private static EntityExchangeResult<byte[]> send(WebTestClient client, byte[] body) {
        return client.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).bodyValue(body)
                .exchange().expectBody(byte[].class).returnResult();
    }

    private byte[] malformed(Random random) {
        // both limits, so a corrupted key still leaves one: a fuzzed body that stays valid runs 2 tokens, not 4096
        String valid = chat("\"max_tokens\":2,\"max_completion_tokens\":2,\"temperature\":0.7,\"stop\":[\"\\n\"]");
        switch (random.nextInt(9)) {
            case 0: { // truncated JSON
                return valid.substring(0, random.nextInt(valid.length())).getBytes(StandardCharsets.UTF_8);
            }
            case 1: { // one character replaced by a JSON-significant one
                char[] c = valid.toCharArray();
                c[random.nextInt(c.length)] = "{}[]\",:0\\ x".charAt(random.nextInt(11));
                return new String(c).getBytes(StandardCharsets.UTF_8);
            }
            case 2: { // wrong type or out-of-range value for a known parameter
                String p = PARAMS[random.nextInt(PARAMS.length)];
                String v = WRONG_VALUES[random.nextInt(WRONG_VALUES.length)];
                return ("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]," + LIMIT + ",\"" + p + "\":" + v + "}")
                        .replace("\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"messages\":",
                                "\"messages\":")
                        .getBytes(StandardCharsets.UTF_8);
            }
            case 3: { // huge numbers
                String digits = "9".repeat(1 + random.nextInt(400));
                String[] forms = {digits, "-" + digits, "1e" + digits.substring(0, Math.min(12, digits.length())),
                        "0." + digits + "1", digits + ".5e-3"};
                String p = PARAMS[random.nextInt(PARAMS.length)];
                return chat(LIMIT + ",\"" + p + "\":" + forms[random.nextInt(forms.length)]).getBytes(StandardCharsets.UTF_8);
            }
            case 4: { // invalid UTF-8 inside a string or at random
                return FuzzBodies.withInvalidUtf8(valid, random);
            }
            case 5: { // missing or empty required fields
                String[] bodies = {"{}", "{\"model\":\"" + MODEL + "\"}", "{\"messages\":[]}", "{\"messages\":null}",
                        "null", "", "[]", "\"text\"", "42", "{\"messages\":[null]}", "{\"messages\":[{}]}",
                        "{\"messages\":[{\"role\":\"user\"}],\"model\":null}"};
                return bodies[random.nextInt(bodies.length)].getBytes(StandardCharsets.UTF_8);
            }
            case 6: { // deep nesting
                int depth = 100 + random.nextInt(5000);
                String nest = "[".repeat(depth) + "]".repeat(depth);
                return chat(LIMIT + ",\"metadata\":" + nest).getBytes(StandardCharsets.UTF_8);
            }
            case 7: { // random bytes
                byte[] b = new byte[1 + random.nextInt(200)];
                random.nextBytes(b);
                return b;
            }
            default: { // wrong shapes of messages and tools
                String[] parts = {"\"messages\":{\"role\":\"user\"}", "\"messages\":[1,2]",
                        "\"messages\":[{\"role\":[],\"content\":\"x\"}]", "\"tools\":[1]", "\"tools\":\"x\"",
                        "\"tool_choice\":7", "\"logit_bias\":{\"x\":1}", "\"logit_bias\":{\"-1\":1}",
                        "\"stop\":[\"\"]", "\"stop\":[null]"};
                String part = parts[random.nextInt(parts.length)];
                String body = part.startsWith("\"messages\"") ? "{" + part + "}" : chat(LIMIT + "," + part);
                return body.getBytes(StandardCharsets.UTF_8);
            }
        }
    }
}
