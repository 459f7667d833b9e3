package dev.llamaserve.chat;

/** The context-length rule: prompt tokens + requested completion tokens fit the model; never truncate. */
public final class ContextLength {

    private ContextLength() {}

    /**
     * @param param the field the prompt came from ({@code messages} or {@code prompt})
     * @param promptTokens the prompt's token count
     * @param maxCompletionTokens the request's {@code max_tokens}/{@code max_completion_tokens}, or
     *     null (then at least one completion token must fit)
     * @param maxModelLen the engine's {@code ModelInfo.maxModelLen()}
     * @throws ChatValidationException with code {@code context_length_exceeded}
     */
    public static void check(String param, int promptTokens, Integer maxCompletionTokens, int maxModelLen) {
        String what = "messages".equals(param) ? "messages" : param;
        if (maxCompletionTokens == null) {
            if (promptTokens >= maxModelLen) {
                throw new ChatValidationException(param, ChatValidationException.CONTEXT_LENGTH_EXCEEDED,
                        "This model's maximum context length is " + maxModelLen + " tokens. However, your " + what
                                + " resulted in " + promptTokens + " tokens, which leaves no room for a completion. "
                                + "Please reduce the length of the " + what + ".");
            }
            return;
        }
        long total = (long) promptTokens + maxCompletionTokens;
        if (total > maxModelLen) {
            throw new ChatValidationException(param, ChatValidationException.CONTEXT_LENGTH_EXCEEDED,
                    "This model's maximum context length is " + maxModelLen + " tokens. However, you requested "
                            + total + " tokens (" + promptTokens + " in the " + what + ", " + maxCompletionTokens
                            + " in the completion). Please reduce the length of the " + what + " or completion.");
        }
    }
}
