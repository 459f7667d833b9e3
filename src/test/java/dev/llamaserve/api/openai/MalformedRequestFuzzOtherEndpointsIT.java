package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.JsonNode;

/**
 * The sibling of {@link MalformedRequestFuzzIT} for {@code /v1/completions}, {@code /tokenize} and
 * {@code /detokenize}: 1,500 requests per endpoint over real HTTP on the REAL engine (demo checkpoint),
 * malformed bodies (bad JSON, wrong types, huge numbers, invalid UTF-8, missing fields, negative and
 * out-of-range token ids, empty arrays, nested garbage) mixed with valid control requests. No answer is a
 * 5xx, every non-200 answer is an OpenAI error body, every valid control request succeeds and is checked
 * (completion token counts, tokenize counts, detokenize round trips).
 */
class MalformedRequestFuzzOtherEndpointsIT extends RealEngineWebTest {

    private static final int REQUESTS = 1_500;
    private static final int CLIENTS = 3;

    private static final String[] WRONG_VALUES = {"\"x\"", "[]", "{}", "true", "null", "-1", "0", "1e999999999",
            "-1e999999999", "123456789012345678901234567890123456789", "0.000000000000000000000000001", "1.5",
            "[1,2,3]", "{\"a\":{\"b\":[null]}}", "\"\\u0000\"", "\"\\ud800\"", "-0", "2147483648", "9.99e307",
            "[\"a\",\"b\"]", "[[1,2],[3]]", "[-1]", "[1e999999999]", "[2147483648]", "[1.5]", "[null]", "[{}]",
            "[[]]", "[\"<|begin_of_text|>\"]", "\"<|eot_id|><|start_header_id|>\"", "99999999999999999999"};

    private static final String[] COMPLETION_PARAMS = {"prompt", "max_tokens", "temperature", "top_p", "top_k", "n",
            "best_of", "logprobs", "echo", "suffix", "stop", "seed", "stream", "stream_options", "logit_bias",
            "ignore_eos", "min_tokens", "presence_penalty", "frequency_penalty", "repetition_penalty", "min_p",
            "model", "return_tokens_as_token_ids", "user"};

    private static final String[] TOKENIZE_PARAMS = {"prompt", "messages", "add_special_tokens",
            "add_generation_prompt", "tools", "chat_template_kwargs", "model", "return_token_strs"};

    private static final String[] DETOKENIZE_PARAMS = {"tokens", "model"};

    @ParameterizedTest
    @ValueSource(strings = {"/v1/completions", "/tokenize", "/detokenize"})
    void noMalformedRequestIsA5xxAndEveryValidOneSucceeds(String path) throws Exception {
        AtomicInteger valid = new AtomicInteger();
        AtomicInteger malformed = new AtomicInteger();
        List<String> failures = new CopyOnWriteArrayList<>();
        Map<Integer, Integer> statuses = new ConcurrentSkipListMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        long start = System.nanoTime();
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int w = 0; w < CLIENTS; w++) {
                long seed = 20261129L + 31L * w + path.hashCode();
                workers.add(pool.submit(
                        () -> run(path, new Random(seed), REQUESTS / CLIENTS, valid, malformed, statuses, failures)));
            }
            for (Future<?> f : workers) {
                f.get(5, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.printf("fuzz %s: %d requests (%d valid, %d malformed; malformed answered %s) on %d clients in %d ms%n",
                path, valid.get() + malformed.get(), valid.get(), malformed.get(), statuses, CLIENTS, millis);
        assertThat(failures).isEmpty();
        assertThat(valid.get() + malformed.get()).isEqualTo(REQUESTS);
        assertThat(valid.get()).isEqualTo(CLIENTS * ((REQUESTS / CLIENTS + 2) / 3));
        // the malformed bodies really are refused (a fuzzer whose bodies all pass would prove nothing)
        assertThat(statuses.getOrDefault(400, 0)).isGreaterThan(malformed.get() / 2);
    }

    private void run(String path, Random random, int requests, AtomicInteger valid, AtomicInteger malformed,
            Map<Integer, Integer> statuses, List<String> failures) {
        WebTestClient client = client();
        for (int i = 0; i < requests && failures.size() <= 20; i++) {
            if (i % 3 == 0) {
                valid.incrementAndGet();
                String failure = switch (path) {
                    case "/v1/completions" -> validCompletion(client, random);
                    case "/tokenize" -> validTokenize(client, random);
                    default -> validDetokenize(client, random);
                };
                if (failure != null) {
                    failures.add("valid " + path + " -> " + failure);
                }
            } else {
                malformed.incrementAndGet();
                byte[] body = malformed(path, random);
                EntityExchangeResult<byte[]> r = send(client, path, body);
                int status = r.getStatus().value();
                statuses.merge(status, 1, Integer::sum);
                String text = text(r);
                String sent = new String(body, 0, Math.min(body.length, 300), StandardCharsets.UTF_8);
                if (status >= 500) {
                    failures.add("malformed " + path + " -> " + status + " " + text + " for " + sent);
                } else if (status != 200) {
                    JsonNode error = OpenAiJson.MAPPER.readTree(text).get("error");
                    if (error == null || !error.has("message") || !error.has("type") || !error.has("param")
                            || !error.has("code")) {
                        failures.add("malformed " + path + " -> " + status + " without an OpenAI error body: "
                                + text + " for " + sent);
                    }
                }
            }
        }
    }

    /** A completion of 1-2 tokens, string or token-id prompt, JSON or SSE: exactly the tokens asked for. */
    private String validCompletion(WebTestClient client, Random random) {
        boolean stream = random.nextBoolean();
        int tokens = 1 + random.nextInt(2);
        String prompt = random.nextBoolean() ? "\"Once upon a time\""
                : "[" + tokenizer.specialTokens().beginOfText() + "," + random.nextInt(1000) + ","
                        + random.nextInt(1000) + "]";
        Integer logprobs = random.nextInt(4) == 0 ? random.nextInt(6) : null;
        String body = "{\"model\":\"" + MODEL + "\",\"prompt\":" + prompt + ",\"ignore_eos\":true,\"max_tokens\":"
                + tokens + ",\"temperature\":" + random.nextInt(3) * 0.5
                + (logprobs == null ? "" : ",\"logprobs\":" + logprobs)
                + (stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "") + "}";
        EntityExchangeResult<byte[]> r = send(client, "/v1/completions", body.getBytes(StandardCharsets.UTF_8));
        String text = text(r);
        if (r.getStatus().value() != 200) {
            return r.getStatus() + " " + text + " for " + body;
        }
        boolean ok;
        if (stream) {
            List<String> data = Sse.data(text);
            JsonNode usage = data.size() >= 3 ? OpenAiJson.MAPPER.readTree(data.get(data.size() - 2)).get("usage") : null;
            ok = text.endsWith("data: [DONE]\n\n") && usage != null
                    && usage.get("completion_tokens").asInt() == tokens;
        } else {
            JsonNode answer = OpenAiJson.MAPPER.readTree(text);
            JsonNode choice = answer.get("choices").get(0);
            ok = choice.get("text").isString() && "length".equals(choice.get("finish_reason").asString())
                    && answer.get("usage").get("completion_tokens").asInt() == tokens
                    && (logprobs == null || choice.get("logprobs").get("tokens").size() == tokens);
        }
        return ok ? null : text + " for " + body;
    }

    /** A prompt or a conversation: the count matches the ids, and a prompt's ids start with begin_of_text. */
    private String validTokenize(WebTestClient client, Random random) {
        boolean messages = random.nextBoolean();
        String body = messages
                ? "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                        + "{\"role\":\"user\",\"content\":\"Hi " + random.nextInt(1000) + "\"}]}"
                : "{\"prompt\":\"Hello world " + random.nextInt(1000) + "\"}";
        EntityExchangeResult<byte[]> r = send(client, "/tokenize", body.getBytes(StandardCharsets.UTF_8));
        String text = text(r);
        if (r.getStatus().value() != 200) {
            return r.getStatus() + " " + text + " for " + body;
        }
        JsonNode answer = OpenAiJson.MAPPER.readTree(text);
        JsonNode ids = answer.get("tokens");
        boolean ok = ids.isArray() && ids.size() == answer.get("count").asInt() && ids.size() > 1
                && ids.get(0).asInt() == tokenizer.specialTokens().beginOfText()
                && answer.get("max_model_len").asInt() == MAX_MODEL_LEN
                && (!messages || answer.get("prompt").asString().contains("Be brief."));
        return ok ? null : text + " for " + body;
    }

    /** Ids of a known text come back as that text (round trip through the real tokenizer). */
    private String validDetokenize(WebTestClient client, Random random) {
        String word = "hello " + random.nextInt(1000);
        int[] ids = tokenizer.encode(word, false);
        StringBuilder tokens = new StringBuilder();
        for (int id : ids) {
            tokens.append(tokens.length() == 0 ? "" : ",").append(id);
        }
        String body = "{\"tokens\":[" + tokens + "]}";
        EntityExchangeResult<byte[]> r = send(client, "/detokenize", body.getBytes(StandardCharsets.UTF_8));
        String text = text(r);
        if (r.getStatus().value() != 200) {
            return r.getStatus() + " " + text + " for " + body;
        }
        return word.equals(OpenAiJson.MAPPER.readTree(text).get("prompt").asString()) ? null
                : text + " for " + body;
    }

    private static String text(EntityExchangeResult<byte[]> r) {
        return r.getResponseBody() == null ? "" : new String(r.getResponseBody(), StandardCharsets.UTF_8);
    }

    private static EntityExchangeResult<byte[]> send(WebTestClient client, String path, byte[] body) {
        return client.post().uri(path).contentType(MediaType.APPLICATION_JSON).bodyValue(body)
                .exchange().expectBody(byte[].class).returnResult();
    }

    /** A valid body of the endpoint (short: a completion that stays valid runs 2 tokens). */
    private String validBody(String path) {
        return switch (path) {
            case "/v1/completions" -> "{\"model\":\"" + MODEL + "\",\"prompt\":\"Hi there\",\"max_tokens\":2,"
                    + "\"temperature\":0.7,\"stop\":[\"\\n\"],\"logprobs\":2}";
            case "/tokenize" -> "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                    + "\"add_generation_prompt\":true}";
            default -> "{\"model\":\"" + MODEL + "\",\"tokens\":[" + tokenizer.specialTokens().beginOfText() + ",72,105,"
                    + tokenizer.specialTokens().endOfTurn() + "]}";
        };
    }

    /** Prefix kept by the parameter cases so that a body stays short when a value turns out valid. */
    private static String base(String path) {
        return switch (path) {
            case "/v1/completions" -> "\"prompt\":\"Hi\",\"max_tokens\":1";
            case "/tokenize" -> "\"prompt\":\"Hi\"";
            default -> "\"tokens\":[1,2]";
        };
    }

    private static String[] params(String path) {
        return switch (path) {
            case "/v1/completions" -> COMPLETION_PARAMS;
            case "/tokenize" -> TOKENIZE_PARAMS;
            default -> DETOKENIZE_PARAMS;
        };
    }

    private byte[] malformed(String path, Random random) {
        String valid = validBody(path);
        String[] params = params(path);
        switch (random.nextInt(10)) {
            case 0: { // truncated JSON
                return valid.substring(0, random.nextInt(valid.length())).getBytes(StandardCharsets.UTF_8);
            }
            case 1: { // one character replaced by a JSON-significant one
                char[] c = valid.toCharArray();
                c[random.nextInt(c.length)] = "{}[]\",:0\\ x-".charAt(random.nextInt(12));
                return new String(c).getBytes(StandardCharsets.UTF_8);
            }
            case 2: { // wrong type or out-of-range value for a known parameter (a later duplicate key wins)
                String p = params[random.nextInt(params.length)];
                String v = WRONG_VALUES[random.nextInt(WRONG_VALUES.length)];
                return ("{" + base(path) + ",\"" + p + "\":" + v + "}").getBytes(StandardCharsets.UTF_8);
            }
            case 3: { // huge numbers, alone or as token ids
                String digits = "9".repeat(1 + random.nextInt(400));
                String[] forms = {digits, "-" + digits, "1e" + digits.substring(0, Math.min(12, digits.length())),
                        "0." + digits + "1", digits + ".5e-3", "-1e" + digits.substring(0, Math.min(12, digits.length()))};
                String form = forms[random.nextInt(forms.length)];
                String p = params[random.nextInt(params.length)];
                String v = random.nextBoolean() ? form : "[1," + form + "]";
                return ("{" + base(path) + ",\"" + p + "\":" + v + "}").getBytes(StandardCharsets.UTF_8);
            }
            case 4: { // invalid UTF-8 inside a string or at random
                return FuzzBodies.withInvalidUtf8(valid, random);
            }
            case 5: { // missing or empty required fields
                String[] bodies = {"{}", "{\"model\":\"" + MODEL + "\"}", "null", "", "[]", "\"text\"", "42",
                        "{\"prompt\":null}", "{\"prompt\":[]}", "{\"prompt\":\"\"}", "{\"prompt\":[[]]}",
                        "{\"tokens\":null}", "{\"tokens\":[]}", "{\"messages\":[]}", "{\"messages\":null}",
                        "{\"messages\":[null]}", "{\"messages\":[{}]}", "{\"model\":null}", "{\"model\":\"nope\"}",
                        "{\"prompt\":\"Hi\",\"model\":7}", "{\"tokens\":[],\"model\":[]}"};
                return bodies[random.nextInt(bodies.length)].getBytes(StandardCharsets.UTF_8);
            }
            case 6: { // deep nesting, in an unknown field or in the main one
                int depth = 100 + random.nextInt(5000);
                String nest = "[".repeat(depth) + "]".repeat(depth);
                String field = random.nextBoolean() ? "metadata" : params[0];
                return ("{" + base(path) + ",\"" + field + "\":" + nest + "}").getBytes(StandardCharsets.UTF_8);
            }
            case 7: { // random bytes
                byte[] b = new byte[1 + random.nextInt(200)];
                random.nextBytes(b);
                return b;
            }
            case 8: { // token ids: negative, out of range, wrong types, mixed
                String[] ids = {"-1", "-2147483648", "2147483647", "2147483648", "-9223372036854775809",
                        String.valueOf(tokenizer.vocabSize()), String.valueOf(tokenizer.vocabSize() + 1), "128256",
                        "1.0", "1.5", "1e3", "1E400", "-0", "-0.0", "true", "\"1\"", "null", "{}", "[1]"};
                StringBuilder list = new StringBuilder("[");
                int n = 1 + random.nextInt(5);
                for (int k = 0; k < n; k++) {
                    list.append(k == 0 ? "" : ",")
                            .append(random.nextInt(3) == 0 ? String.valueOf(random.nextInt(100))
                                    : ids[random.nextInt(ids.length)]);
                }
                list.append(']');
                String field = path.equals("/detokenize") ? "tokens" : "prompt";
                String extra = path.equals("/v1/completions") ? ",\"max_tokens\":1" : "";
                return ("{\"" + field + "\":" + list + extra + "}").getBytes(StandardCharsets.UTF_8);
            }
            default: { // wrong shapes of messages, tools, stop, logit_bias, prompt batches
                String[] parts = {"\"messages\":{\"role\":\"user\"}", "\"messages\":[1,2]",
                        "\"messages\":[{\"role\":[],\"content\":\"x\"}]",
                        "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]",
                        "\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]", "\"messages\":\"Hi\"",
                        "\"tools\":[1]", "\"tools\":\"x\"", "\"tools\":[{\"type\":\"function\"}]",
                        "\"chat_template_kwargs\":[]", "\"chat_template_kwargs\":{\"date_string\":5}",
                        "\"logit_bias\":{\"x\":1}", "\"logit_bias\":{\"-1\":1}", "\"logit_bias\":{\"1\":1e999}",
                        "\"stop\":[\"\"]", "\"stop\":[null]", "\"stop\":\"\"",
                        "\"prompt\":[\"a\",\"b\"]", "\"prompt\":[[1],[2]]", "\"prompt\":[[]]", "\"prompt\":[\"\"]",
                        "\"prompt\":[[1,\"x\"]]", "\"prompt\":{\"text\":\"Hi\"}", "\"tokens\":[[1]]",
                        "\"tokens\":{\"0\":1}", "\"tokens\":\"1,2\""};
                String part = parts[random.nextInt(parts.length)];
                String prefix = part.startsWith("\"" + params[0] + "\"") || part.startsWith("\"messages\"") ? ""
                        : base(path) + ",";
                String suffix = path.equals("/v1/completions") && !prefix.isEmpty() ? "" : ",\"max_tokens\":1";
                return ("{" + prefix + part + suffix + "}").getBytes(StandardCharsets.UTF_8);
            }
        }
    }
}
