package dev.llamaserve.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Over real HTTP on the real engine: per-key request and token limits, OpenAI's headers and 429s. */
class RateLimitHttpIT extends OpsWebTest {

    private static final String REQUEST_REFUSALS = "llm_ratelimit_refusals_total{type=\"requests\"}";
    private static final String TOKEN_REFUSALS = "llm_ratelimit_refusals_total{type=\"tokens\"}";
    private static final Pattern RESET = Pattern.compile("0s|[1-9][0-9]{0,2}ms|[1-9][0-9]?s|[1-9][0-9]*m[0-9][0-9]?s");

    @Test
    void limitPerMinuteAdmittedThenRefusedWithEveryHeaderAndOtherKeysUntouched() throws Exception {
        double refusals = metric(REQUEST_REFUSALS);
        for (int i = 1; i <= 3; i++) {
            HttpResponse<String> r = send("POST", "/v1/chat/completions", ALICE, chat("\"max_tokens\":1"));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertRequestHeaders(r, 3, 3 - i);
            assertThat(r.headers().firstValue("x-ratelimit-limit-tokens")).as("tokens unlimited: no header").isEmpty();
        }
        HttpResponse<String> refused = send("POST", "/v1/chat/completions", ALICE, chat("\"max_tokens\":1"));
        JsonNode error = assertOpenAiError(refused, 429, "requests", "rate_limit_exceeded");
        assertThat(error.get("message").asString()).contains("Limit 3");
        assertRequestHeaders(refused, 3, 0);
        long retryAfter = Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow());
        long retryAfterMs = Long.parseLong(refused.headers().firstValue("retry-after-ms").orElseThrow());
        assertThat(retryAfter).isBetween(1L, 60L);
        assertThat(retryAfterMs).isBetween(1L, 60_000L);
        assertThat(retryAfter).as("Retry-After is the wait in ms, rounded up").isEqualTo((retryAfterMs + 999) / 1000);
        assertThat(resetSeconds(refused.headers().firstValue("x-ratelimit-reset-requests").orElseThrow()))
                .isBetween(retryAfter - 1, retryAfter);
        assertOpenAiError(send("GET", "/v1/models", ALICE, null), 429, "requests", "rate_limit_exceeded");
        // the tokenizer routes too: each costs a tokenizer pass of up to the body limit
        assertOpenAiError(send("POST", "/tokenize", ALICE, "{\"prompt\":\"hi\"}"), 429, "requests",
                "rate_limit_exceeded");
        assertOpenAiError(send("POST", "/detokenize", ALICE, "{\"tokens\":[1]}"), 429, "requests",
                "rate_limit_exceeded");
        assertThat(metric(REQUEST_REFUSALS) - refusals).as("every 429 counted").isEqualTo(4.0);

        HttpResponse<String> bob = send("POST", "/v1/chat/completions", BOB, chat("\"max_tokens\":1"));
        assertThat(bob.statusCode()).as("bob untouched by alice: %s", bob.body()).isEqualTo(200);
        assertRequestHeaders(bob, 3, 2);
        HttpResponse<String> bobStream = send("POST", "/v1/chat/completions", BOB,
                chat("\"max_tokens\":2,\"stream\":true"));
        assertThat(bobStream.statusCode()).isEqualTo(200);
        assertThat(bobStream.headers().firstValue("Content-Type")).hasValueSatisfying(
                v -> assertThat(v).startsWith("text/event-stream"));
        assertThat(bobStream.body()).endsWith("data: [DONE]\n\n");
        assertRequestHeaders(bobStream, 3, 1);
        HttpResponse<String> erin = send("GET", "/v1/models", ERIN, null);
        assertThat(erin.statusCode()).isEqualTo(200);
        assertThat(erin.headers().firstValue("x-ratelimit-limit-requests")).as("global limit").hasValue("1000");
    }

    /** OpenAI sends all six headers on its 429s: a refusal for requests carries the token window too. */
    @Test
    void aRequestLimit429CarriesTheTokenHeadersToo() throws Exception {
        // dave: 2 requests and 300 tokens per minute
        for (int i = 1; i <= 2; i++) {
            HttpResponse<String> r = send("GET", "/v1/models", DAVE, null);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue("300");
        }
        HttpResponse<String> refused = send("GET", "/v1/models", DAVE, null);
        assertOpenAiError(refused, 429, "requests", "rate_limit_exceeded");
        assertRequestHeaders(refused, 2, 0);
        assertThat(refused.headers().firstValue("x-ratelimit-limit-tokens")).hasValue("300");
        assertThat(refused.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue("300");
        assertThat(refused.headers().firstValue("x-ratelimit-reset-tokens")).hasValue("0s");
    }

    @Test
    void tokenLimitChargesPromptPlusMaxTokensAtAdmission() throws Exception {
        double refusals = metric(TOKEN_REFUSALS);
        // carol: 300 tokens per minute, requests unlimited
        HttpResponse<String> peek = send("GET", "/v1/models", CAROL, null);
        assertThat(peek.statusCode()).isEqualTo(200);
        assertThat(peek.headers().firstValue("x-ratelimit-limit-tokens")).hasValue("300");
        assertThat(peek.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue("300");
        assertThat(peek.headers().firstValue("x-ratelimit-reset-tokens")).hasValue("0s");
        assertThat(peek.headers().firstValue("x-ratelimit-limit-requests")).as("requests off for carol").isEmpty();

        HttpResponse<String> first = send("POST", "/v1/chat/completions", CAROL,
                chat("\"temperature\":0,\"max_tokens\":10"));
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        int prompt = json(first.body()).get("usage").get("prompt_tokens").asInt();
        int completion = json(first.body()).get("usage").get("completion_tokens").asInt();
        assertThat(prompt).isPositive();
        long remaining = 300 - prompt - 10;
        assertThat(remaining).as("prompt %d + 10 fit in 300", prompt).isGreaterThan(prompt);
        assertThat(first.headers().firstValue("x-ratelimit-remaining-tokens"))
                .as("charged prompt + max_tokens (%d + 10), not + the %d generated", prompt, completion)
                .hasValue(Long.toString(remaining));
        assertThat(first.headers().firstValue("x-ratelimit-reset-tokens").orElseThrow()).matches(RESET);

        long tooMany = remaining - prompt + 1;
        HttpResponse<String> refused = send("POST", "/v1/chat/completions", CAROL,
                chat("\"max_tokens\":" + tooMany));
        JsonNode error = assertOpenAiError(refused, 429, "tokens", "rate_limit_exceeded");
        assertThat(error.get("message").asString()).contains("Limit 300").contains("Requested " + (remaining + 1));
        assertThat(refused.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue(Long.toString(remaining));
        assertThat(refused.headers().firstValue("Retry-After")).isPresent();

        HttpResponse<String> unset = send("POST", "/v1/chat/completions", CAROL, chat(""));
        assertOpenAiError(unset, 429, "tokens", "rate_limit_exceeded");
        assertThat(json(unset.body()).get("error").get("message").asString())
                .as("no max_tokens: the whole context is charged").contains("Requested 4096");
        assertThat(unset.headers().firstValue("Retry-After")).as("above the whole limit: no wait helps").isEmpty();
        assertThat(unset.headers().firstValue("x-should-retry")).as("the SDKs would retry it twice").hasValue("false");

        HttpResponse<String> twoChoices = send("POST", "/v1/chat/completions", CAROL,
                chat("\"max_tokens\":" + (remaining - prompt) + ",\"n\":2"));
        assertOpenAiError(twoChoices, 429, "tokens", "rate_limit_exceeded");
        assertThat(json(twoChoices.body()).get("error").get("message").asString())
                .as("n = 2: max_tokens charged twice").contains("Requested " + (prompt + 2 * (remaining - prompt)));

        // a request the engine refuses (400) is refused before it is charged: the exact fit below still fits
        HttpResponse<String> invalid = send("POST", "/v1/chat/completions", CAROL,
                chat("\"temperature\":9,\"max_tokens\":" + (remaining - prompt)));
        assertThat(invalid.statusCode()).as(invalid.body()).isEqualTo(400);

        HttpResponse<String> exact = send("POST", "/v1/chat/completions", CAROL,
                chat("\"max_tokens\":" + (remaining - prompt)));
        assertThat(exact.statusCode()).as(exact.body()).isEqualTo(200);
        assertThat(exact.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue("0");

        HttpResponse<String> completions = send("POST", "/v1/completions", CAROL,
                "{\"model\":\"" + model() + "\",\"prompt\":\"x\",\"max_tokens\":1}");
        assertOpenAiError(completions, 429, "tokens", "rate_limit_exceeded");
        assertThat(metric(TOKEN_REFUSALS) - refusals).as("the four token 429s counted").isEqualTo(4.0);
    }

    private static void assertRequestHeaders(HttpResponse<String> r, long limit, long remaining) {
        assertThat(r.headers().firstValue("x-ratelimit-limit-requests")).hasValue(Long.toString(limit));
        assertThat(r.headers().firstValue("x-ratelimit-remaining-requests")).hasValue(Long.toString(remaining));
        String reset = r.headers().firstValue("x-ratelimit-reset-requests").orElseThrow();
        assertThat(reset).matches(RESET);
        assertThat(resetSeconds(reset)).isBetween(1L, 60L);
    }

    /** Seconds of a reset header, rounded up. */
    private static long resetSeconds(String reset) {
        if (reset.endsWith("ms")) {
            return 1;
        }
        String[] ms = reset.replace("s", "").split("m");
        return ms.length == 2 ? Long.parseLong(ms[0]) * 60 + Long.parseLong(ms[1]) : Long.parseLong(ms[0]);
    }
}
