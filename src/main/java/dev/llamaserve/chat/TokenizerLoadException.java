package dev.llamaserve.chat;

/** The checkpoint's tokenizer files are missing, unreadable or lack a token the chat format needs. */
public class TokenizerLoadException extends RuntimeException {
    public TokenizerLoadException(String message) {
        super(message);
    }

    public TokenizerLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
