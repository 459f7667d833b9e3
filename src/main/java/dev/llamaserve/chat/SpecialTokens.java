package dev.llamaserve.chat;

/**
 * The control tokens the Llama 3.1 format uses, looked up by their text in the checkpoint's
 * tokenizer files (their ids differ between checkpoints: 128000+ in the real model, 512+ in the
 * test fixture).
 */
public record SpecialTokens(
        int beginOfText,
        int endOfText,
        int startHeader,
        int endHeader,
        int endOfMessage,
        int endOfTurn,
        int pythonTag) {

    public static final String BEGIN_OF_TEXT = "<|begin_of_text|>";
    public static final String END_OF_TEXT = "<|end_of_text|>";
    public static final String START_HEADER = "<|start_header_id|>";
    public static final String END_HEADER = "<|end_header_id|>";
    public static final String END_OF_MESSAGE = "<|eom_id|>";
    public static final String END_OF_TURN = "<|eot_id|>";
    public static final String PYTHON_TAG = "<|python_tag|>";
}
