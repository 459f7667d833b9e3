package dev.llamaserve.engine.core;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.grammar.Grammar;
import dev.llamaserve.engine.grammar.GrammarMatcher;
import dev.llamaserve.engine.grammar.TokenMasker;
import dev.llamaserve.engine.grammar.TokenTrie;
import dev.llamaserve.engine.grammar.TokenVocabulary;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's one {@link TokenMasker}: the vocabulary's token trie (0.4–1.9 s for 128k tokens) is built
 * once per engine on a background thread started at construction, off the request path; the first
 * constrained request admitted before it is ready waits for it.
 */
final class TokenMasks {

    private static final Logger LOG = LoggerFactory.getLogger(TokenMasks.class);

    /** Mask cache budget: each entry is vocab/8 bytes (16 KiB for 128k tokens). */
    private static final long CACHE_BYTES = 32L << 20;

    private final CompletableFuture<TokenMasker> masker = new CompletableFuture<>();

    TokenMasks(Detokenizer detokenizer, int vocabSize, Set<Integer> eosIds) {
        if (detokenizer == null) {
            masker.completeExceptionally(new IllegalStateException("constrained decoding needs the tokenizer"));
            return;
        }
        Thread t = new Thread(() -> {
            try {
                TokenTrie trie = new TokenTrie(TokenVocabulary.of(detokenizer, vocabSize));
                int entries = (int) Math.max(256, CACHE_BYTES / Math.max(1, vocabSize / 8));
                masker.complete(new TokenMasker(trie, eosIds.stream().mapToInt(Integer::intValue).toArray(), entries));
            } catch (Throwable e) {
                LOG.error("building the token trie failed: constrained requests (response_format, forced tool calls)"
                        + " will each fail; free text is served", e);
                masker.completeExceptionally(e);
            }
        }, "llm-engine-token-trie");
        t.setDaemon(true);
        t.start();
    }

    /**
     * A matcher for one sequence (waits for the trie the first time, if it is still being built); where the trie
     * could not be built, a {@link java.util.concurrent.CompletionException} whose cause says why.
     */
    GrammarMatcher matcher(Grammar grammar) {
        return masker.join().matcher(grammar);
    }
}
