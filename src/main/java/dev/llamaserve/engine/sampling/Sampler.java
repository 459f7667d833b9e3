package dev.llamaserve.engine.sampling;

import dev.llamaserve.engine.EngineEvent;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Samples one request's tokens from its logits rows, independently of the rest of the batch: its own
 * random generator (seeded from {@code seed}, else from a fresh random), its own penalty state, and
 * exactly one random draw per non-greedy token, so a seeded request draws the same tokens whatever it
 * is batched with.
 *
 * <p>Order of the logits processing (vLLM's): logit bias; {@code min_tokens} (stop ids set to -inf
 * while fewer tokens were generated); repetition penalty over prompt and output tokens (HF: positive
 * logits divided, negative multiplied); frequency and presence penalties over output tokens (OpenAI:
 * {@code logit -= count * frequency + (count > 0) * presence}); then greedy argmax at temperature 0,
 * else softmax of logits / temperature, min_p (relative to the most likely token), top_k, top_p (the
 * smallest set of most likely tokens whose mass reaches top_p of what is left), and one draw.
 *
 * <p>Logprobs are those of the raw model logits (log-softmax before bias, penalties and temperature),
 * as vLLM returns by default; the chosen token's logprob is reported even when it was forced.
 */
public final class Sampler {

    private final SamplingConfig config;
    private final SplittableRandom random;
    private final BitSet seen = new BitSet();
    private final Map<Integer, int[]> outputCounts = new HashMap<>();
    private int generated;

    public Sampler(SamplingConfig config, int[] promptTokens) {
        this.config = config;
        this.random = config.seed() != null ? new SplittableRandom(config.seed()) : new SplittableRandom();
        for (int t : promptTokens) {
            seen.set(t);
        }
    }

    public SamplingConfig config() {
        return config;
    }

    /** Tokens generated so far (those passed to {@link #accept}). */
    public int generated() {
        return generated;
    }

    /** Records a generated token (penalty state and the {@code min_tokens} count). */
    public void accept(int token) {
        seen.set(token);
        outputCounts.computeIfAbsent(token, k -> new int[1])[0]++;
        generated++;
    }

    /** A sampled token and, when asked for, its logprob. */
    public record Result(int token, EngineEvent.TokenLogprob logprob) {}

    /**
     * Picks the next token from {@code logits[offset, offset + vocab)}; does not {@link #accept} it.
     */
    public Result sample(float[] logits, int offset, int vocab, SamplerWorkspace ws) {
        return sample(logits, offset, vocab, ws, null);
    }

    /**
     * As {@link #sample(float[], int, int, SamplerWorkspace)}, restricted to the tokens set in
     * {@code allowed} (a grammar's mask, see {@link AllowedTokens}; null: no restriction). The mask
     * wins over logit bias and {@code min_tokens}: when they leave no allowed token, the mask alone
     * applies to the raw row.
     */
    public Result sample(float[] logits, int offset, int vocab, SamplerWorkspace ws, long[] allowed) {
        int token;
        if (config.greedy() && allowed == null && !processes()) {
            // the row as it is: no copy (16 rows of a 128k vocabulary: 8 MB a step, 0.5-0.9 ms of it)
            token = argmax(logits, offset, vocab);
        } else {
            float[] x = ws.values;
            System.arraycopy(logits, offset, x, 0, vocab);
            process(x, vocab);
            if (allowed != null && !AllowedTokens.apply(x, vocab, allowed)) {
                System.arraycopy(logits, offset, x, 0, vocab);
                AllowedTokens.apply(x, vocab, allowed);
            }
            token = config.greedy() ? argmax(x, 0, vocab) : draw(x, ws.index, vocab);
        }
        EngineEvent.TokenLogprob lp = config.logprobs() >= 0
                ? logprobs(logits, offset, vocab, token, config.logprobs()) : null;
        return new Result(token, lp);
    }

    /**
     * Whether the next token is the greatest logit of its raw row, the lowest id among ties: greedy, no logprobs, and
     * nothing for {@link #process} to apply. (A grammar's mask is the caller's to check.) Then a model that picks each
     * row's argmax itself may pick it instead of returning the row.
     */
    public boolean nextIsRawArgmax() {
        return config.greedy() && config.logprobs() < 0 && !processes();
    }

    /**
     * Whether {@link #process} would change a row now: a logit bias, stop ids held back by {@code min_tokens}, or a
     * penalty. Its conditions are process's own, in its order.
     */
    boolean processes() {
        return config.logitBiasIds().length > 0
                || (!config.stopsAllowed(generated + 1) && config.stopTokenIds().length > 0)
                || config.repetitionPenalty() != 1.0
                || ((config.frequencyPenalty() != 0 || config.presencePenalty() != 0) && !outputCounts.isEmpty());
    }

    /** Applies bias, min_tokens and penalties in place to {@code x[0, vocab)} (exposed for tests). */
    public void process(float[] x, int vocab) {
        int[] biasIds = config.logitBiasIds();
        for (int i = 0; i < biasIds.length; i++) {
            if (biasIds[i] >= 0 && biasIds[i] < vocab) {
                x[biasIds[i]] += config.logitBiasValues()[i];
            }
        }
        if (!config.stopsAllowed(generated + 1)) {   // the token sampled now would be number generated + 1
            for (int id : config.stopTokenIds()) {
                if (id >= 0 && id < vocab) {
                    x[id] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        double rep = config.repetitionPenalty();
        if (rep != 1.0) {
            for (int t = seen.nextSetBit(0); t >= 0 && t < vocab; t = seen.nextSetBit(t + 1)) {
                x[t] = (float) (x[t] > 0 ? x[t] / rep : x[t] * rep);
            }
        }
        double freq = config.frequencyPenalty();
        double pres = config.presencePenalty();
        if (freq != 0 || pres != 0) {
            for (Map.Entry<Integer, int[]> e : outputCounts.entrySet()) {
                int t = e.getKey();
                if (t < vocab) {
                    x[t] -= (float) (e.getValue()[0] * freq + pres);
                }
            }
        }
    }

    /**
     * Greedy: the highest of {@code x[offset, offset + vocab)}, the lowest id among ties (a NaN is never higher, so it
     * is passed over, unless at the row's first id). The rule a model's own argmax keeps (CausalLm.forwardArgmax,
     * llama-serve's argmax_rows), and its tests' reference.
     */
    public static int argmax(float[] x, int offset, int vocab) {
        int best = 0;
        float bv = x[offset];
        for (int i = 1; i < vocab; i++) {
            if (x[offset + i] > bv) {
                bv = x[offset + i];
                best = i;
            }
        }
        return best;
    }

    private int draw(float[] x, int[] idx, int vocab) {
        float max = x[argmax(x, 0, vocab)];
        if (max == Float.NEGATIVE_INFINITY) {
            return argmax(x, 0, vocab);
        }
        double invT = 1.0 / config.temperature();
        // x becomes unnormalised probabilities: the most likely token has weight 1.
        // Tokens more than 27.6 nats below the best (weight under 1e-12) are left out without an exp:
        // together they hold under 1.3e-7 of the mass even over a 128k vocabulary.
        float cutoff = (float) (max - 27.6 * config.temperature());
        float minWeight = (float) config.minP();
        int n = 0;
        for (int i = 0; i < vocab; i++) {
            if (x[i] >= cutoff) {
                float w = (float) Math.exp((x[i] - max) * invT);
                x[i] = w;
                if (w > 0 && w >= minWeight) {
                    idx[n++] = i;
                }
            }
        }
        if (config.topK() > 0 && config.topK() < n) {
            Selection.topK(idx, x, n, config.topK());
            n = config.topK();
        }
        double mass = 0;
        for (int i = 0; i < n; i++) {
            mass += x[idx[i]];
        }
        if (config.topP() < 1.0) {
            n = Selection.nucleus(idx, x, n, config.topP() * mass);
            mass = 0;
            for (int i = 0; i < n; i++) {
                mass += x[idx[i]];
            }
        }
        double u = random.nextDouble() * mass;
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += x[idx[i]];
            if (u < acc) {
                return idx[i];
            }
        }
        return idx[n - 1];
    }

    /** Log-softmax of the raw row: the chosen token's logprob and the top {@code topN} alternatives. */
    public static EngineEvent.TokenLogprob logprobs(float[] logits, int offset, int vocab, int token, int topN) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[offset + i] - max);
        }
        double logZ = max + Math.log(sum);
        List<EngineEvent.TopLogprob> top = new ArrayList<>();
        if (topN > 0) {
            int k = Math.min(topN, vocab);
            int[] ids = new int[k];
            float[] vals = new float[k];
            int size = 0;
            for (int i = 0; i < vocab; i++) {
                float v = logits[offset + i];
                if (size < k || v > vals[size - 1]) {
                    int at = size < k ? size++ : size - 1;
                    while (at > 0 && vals[at - 1] < v) {
                        vals[at] = vals[at - 1];
                        ids[at] = ids[at - 1];
                        at--;
                    }
                    vals[at] = v;
                    ids[at] = i;
                }
            }
            for (int i = 0; i < size; i++) {
                top.add(new EngineEvent.TopLogprob(ids[i], (float) (vals[i] - logZ)));
            }
        }
        return new EngineEvent.TokenLogprob(token, (float) (logits[offset + token] - logZ), List.copyOf(top));
    }
}
