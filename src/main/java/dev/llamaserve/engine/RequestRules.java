package dev.llamaserve.engine;

import static dev.llamaserve.engine.InvalidRequestException.CONTEXT_LENGTH_EXCEEDED;
import static dev.llamaserve.engine.InvalidRequestException.INVALID_VALUE;

import java.util.Map;

/**
 * Every rule a {@link GenerationRequest} must satisfy, in one place: parameter ranges (OpenAI's and vLLM's),
 * token ids inside the vocabulary, and the context-length rule (prompt + max_tokens within
 * {@link ModelInfo#maxModelLen()}; never truncate), and an output constraint the grammar can enforce
 * ({@link ConstraintRules}). Messages name the field, the limit and the value.
 */
final class RequestRules {

    static final double MAX_TEMPERATURE = 2;
    static final double MAX_PENALTY = 2;
    static final double MAX_REPETITION_PENALTY = 100;
    static final double MAX_LOGIT_BIAS = 100;

    private RequestRules() {}

    static ValidatedRequest check(GenerationRequest r, ModelInfo model) {
        GenerationRequest.ParamNames names = r.names();
        SamplingParams p = r.params();
        int vocab = model.vocabSize();
        int[] prompt = r.promptTokenIds();
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= vocab) {
                throw new InvalidRequestException(names.prompt(), INVALID_VALUE, "'" + names.prompt() + "' token id "
                        + prompt[i] + " at position " + i + " must be in [0, " + vocab + ")");
            }
        }
        int maxTokens = contextLength(names, prompt.length, p.maxTokens(), model.maxModelLen());
        range(names.logprobs(), p.logprobs(), 0, SamplingParams.MAX_TOP_LOGPROBS);
        range("n", p.n(), 1, SamplingParams.MAX_N);
        if (p.minTokens() < 0 || p.minTokens() > maxTokens) {
            throw new InvalidRequestException("min_tokens", INVALID_VALUE, "'min_tokens' must be in [0, "
                    + maxTokens + "] ('" + names.maxTokens() + "'), got " + p.minTokens());
        }
        if (p.stop().size() > SamplingParams.MAX_STOP_STRINGS) {
            throw new InvalidRequestException("stop", INVALID_VALUE, "'stop' allows at most "
                    + SamplingParams.MAX_STOP_STRINGS + " strings, got " + p.stop().size());
        }
        for (String s : p.stop()) {
            if (s == null || s.isEmpty()) {
                throw new InvalidRequestException("stop", INVALID_VALUE, "'stop' strings must not be empty");
            }
            UnicodeText.requireValid("stop", s);
        }
        for (Integer id : p.stopTokenIds()) {
            range("stop_token_ids", id, 0, vocab - 1);
        }
        for (Map.Entry<Integer, Double> e : p.logitBias().entrySet()) {
            if (e.getKey() < 0 || e.getKey() >= vocab) {
                throw new InvalidRequestException("logit_bias", INVALID_VALUE, "'logit_bias' token id must be in [0, "
                        + vocab + "), got " + e.getKey());
            }
            range("logit_bias", e.getValue(), -MAX_LOGIT_BIAS, true, MAX_LOGIT_BIAS, true);
        }
        range("temperature", p.temperature(), 0, true, MAX_TEMPERATURE, true);
        range("top_p", p.topP(), 0, true, 1, true);   // OpenAI's range; 0 keeps the most likely token alone
        if (p.topK() != null && p.topK() < -1) {
            throw new InvalidRequestException("top_k", INVALID_VALUE, "'top_k' must be -1 (off) or positive, got "
                    + p.topK());
        }
        range("min_p", p.minP(), 0, true, 1, true);
        range("presence_penalty", p.presencePenalty(), -MAX_PENALTY, true, MAX_PENALTY, true);
        range("frequency_penalty", p.frequencyPenalty(), -MAX_PENALTY, true, MAX_PENALTY, true);
        range("repetition_penalty", p.repetitionPenalty(), 0, false, MAX_REPETITION_PENALTY, true);
        return new ValidatedRequest(r, maxTokens, ConstraintRules.grammar(p.constraint()));
    }

    /**
     * The context-length rule: the prompt leaves room for at least one token, and prompt + max_tokens fit.
     *
     * @return max_tokens, or what is left of the context when unset
     */
    private static int contextLength(GenerationRequest.ParamNames names, int promptTokens, Integer maxTokens,
            int maxModelLen) {
        String what = names.prompt();
        if (promptTokens > GenerationRequest.maxPromptTokens(maxModelLen)) {
            throw InvalidRequestException.promptTooLong(what, promptTokens, false, maxModelLen);
        }
        if (maxTokens == null) {
            return maxModelLen - promptTokens;
        }
        if (maxTokens < 1) {
            throw new InvalidRequestException(names.maxTokens(), INVALID_VALUE, "'" + names.maxTokens()
                    + "' must be at least 1, got " + maxTokens);
        }
        long total = (long) promptTokens + maxTokens;
        if (total > maxModelLen) {
            throw new InvalidRequestException(names.maxTokens(), CONTEXT_LENGTH_EXCEEDED,
                    "This model's maximum context length is " + maxModelLen + " tokens. However, you requested "
                            + total + " tokens (" + promptTokens + " in the " + what + ", " + maxTokens
                            + " in the completion). Please reduce the length of the " + what + " or completion.");
        }
        return maxTokens;
    }

    private static void range(String param, Integer v, int min, int max) {
        if (v != null && (v < min || v > max)) {
            throw new InvalidRequestException(param, INVALID_VALUE, "'" + param + "' must be in [" + min + ", " + max
                    + "], got " + v);
        }
    }

    private static void range(String param, Double v, double min, boolean minInclusive, double max,
            boolean maxInclusive) {
        if (v == null) {
            return;
        }
        boolean above = minInclusive ? v >= min : v > min;
        boolean below = maxInclusive ? v <= max : v < max;
        if (!(above && below)) { // NaN fails both
            throw new InvalidRequestException(param, INVALID_VALUE, "'" + param + "' must be in "
                    + (minInclusive ? "[" : "(") + number(min) + ", " + number(max) + (maxInclusive ? "]" : ")")
                    + ", got " + number(v));
        }
    }

    /** 2 for 2.0, 0.5 for 0.5: numbers as a client wrote them. */
    static String number(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
