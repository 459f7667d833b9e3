/**
 * Grammar-constrained decoding (pure Java): a JSON-schema → pushdown-automaton compiler
 * ({@link dev.llamaserve.engine.grammar.SchemaCompiler}), a byte-level matcher whose states are
 * immutable and hashable ({@link dev.llamaserve.engine.grammar.GrammarState}), and the allowed-token
 * mask over a byte-level vocabulary ({@link dev.llamaserve.engine.grammar.TokenMasker}, walking a byte
 * trie of the vocabulary, with a cache of masks per automaton state).
 *
 * <p>What is enforced and how is documented in {@code SchemaCompiler}; whatever cannot be enforced
 * exactly is refused with an {@link dev.llamaserve.engine.grammar.UnsupportedSchemaException} naming
 * the keyword's JSON pointer, never ignored.
 */
package dev.llamaserve.engine.grammar;
