package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * A request's output does not depend on how its prompt was computed: prefilled cold in one step of many rows, or
 * its prefix read from the cache and only the tail computed, or as one of n choices. The demo model runs in bf16
 * here; with the native kernel bounded to steps of 64 rows, the cold prefill of a 150-token prompt went through
 * oneDNN, which sums in another order, and greedy logprobs (and, at near-ties, tokens) differed from the warm run.
 * Needs llama-serve's native bf16 kernels (AVX2 + FMA at least, built with gcc); skipped visibly elsewhere.
 */
class BatchInvarianceHttpIT extends RealEngineWebTest {

    @BeforeEach
    void nativeBf16Kernel() {
        assumeNativeBf16Kernels();
    }

    /** A prompt of {@code n} token ids no earlier request sent (so its first run is cold). */
    private static String prompt(int n) {
        long salt = ThreadLocalRandom.current().nextLong(1_000_000);
        return IntStream.range(0, n).mapToObj(i -> Long.toString(i == 0 ? 1 : 100 + Math.floorMod(salt * 31 + i * 7919L, 900)))
                .collect(Collectors.joining(",", "[", "]"));
    }

    private JsonNode complete(String prompt, String extra) throws Exception {
        var r = post("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":" + prompt + ",\"max_tokens\":24,"
                + "\"ignore_eos\":true," + extra + "}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r.body());
    }

    @Test
    void coldAndWarmPrefillGiveTheSameLogprobsBitForBit() throws Exception {
        String prompt = prompt(150);
        JsonNode cold = complete(prompt, "\"temperature\":0,\"logprobs\":2");
        JsonNode warm = complete(prompt, "\"temperature\":0,\"logprobs\":2");
        assertThat(cold.get("usage").get("prompt_tokens_details").get("cached_tokens").asInt()).isZero();
        assertThat(warm.get("usage").get("prompt_tokens_details").get("cached_tokens").asInt()).isPositive();
        JsonNode a = cold.get("choices").get(0).get("logprobs");
        JsonNode b = warm.get("choices").get(0).get("logprobs");
        assertThat(b.get("tokens")).isEqualTo(a.get("tokens"));
        assertThat(b.get("token_logprobs")).isEqualTo(a.get("token_logprobs"));
        assertThat(b.get("top_logprobs")).isEqualTo(a.get("top_logprobs"));
    }

    @Test
    void choiceIOfNWithASeedIsTheSingleRequestWithSeedPlusI() throws Exception {
        String prompt = prompt(150);
        JsonNode both = complete(prompt, "\"temperature\":1,\"seed\":7,\"n\":2");
        JsonNode[] byIndex = new JsonNode[2];
        both.get("choices").forEach(c -> byIndex[c.get("index").asInt()] = c);
        for (int i = 0; i < 2; i++) {
            JsonNode single = complete(prompt, "\"temperature\":1,\"seed\":" + (7 + i));
            assertThat(byIndex[i].get("text").asString()).as("choice %d", i)
                    .isEqualTo(single.get("choices").get(0).get("text").asString());
        }
    }
}
