package dev.llamaserve.engine.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * The regular-expression subset accepted in {@code pattern} (and used for {@code format}), parsed into
 * a tree. Supported: literals; {@code .} (any character but line terminators); classes {@code [...]}
 * and {@code [^...]} with ranges; escapes {@code \d \D \w \W \s \S \t \n \r \f \xHH \\uHHHH} (a
 * surrogate pair of them one code point) and any escaped punctuation; quantifiers {@code * + ? {m} {m,} {m,n}} (a lazy {@code ?} suffix is accepted:
 * laziness does not change which strings match); groups {@code (...)} and {@code (?:...)};
 * alternation {@code |}; {@code ^} only at the very start and {@code $} only at the very end.
 *
 * <p>The language is exactly JSON Schema's (an unanchored search): a pattern without a leading
 * {@code ^} may be preceded by anything, one without a trailing {@code $} followed by anything (anchors
 * around a top-level alternation are refused: write {@code ^(a|b)$}). Everything else (backreferences, lookaround, word boundaries, {@code \p{..}}, flags, {@code \v},
 * anchors elsewhere, repetition bounds above 1000) is refused.
 */
sealed interface Regex {

    int MAX_REPEAT = 1000;

    record Chars(int[] set) implements Regex {}

    record Concat(List<Regex> parts) implements Regex {}

    record Alt(List<Regex> options) implements Regex {}

    record Repeat(Regex body, int min, int max) implements Regex {} // max -1: unbounded

    /** Line terminators of JDK and ECMAScript regexes, all excluded from {@code .} (U+0085 only JDK's: narrower). */
    int[] DOT = CodePoints.complement(CodePoints.of('\n', '\n', '\r', '\r', 0x85, 0x85, 0x2028, 0x2029));
    int[] DIGIT = CodePoints.of('0', '9');
    int[] WORD = CodePoints.of('a', 'z', 'A', 'Z', '0', '9', '_', '_');
    /** Whitespace in both JDK ({@code \s}) and ECMAScript: generated for {@code \s} and {@code [^\S]}. */
    int[] SPACE = CodePoints.of(' ', ' ', '\t', '\r', 0x0B, 0x0B);
    /**
     * ECMAScript's larger whitespace set, exactly its WhiteSpace and LineTerminator (not U+0085): its complement is
     * generated for {@code \S} and {@code [^\s]}.
     */
    int[] SPACE_ECMA = CodePoints.union(SPACE, CodePoints.of(0xA0, 0xA0, 0x1680, 0x1680, 0x2000, 0x200A,
            0x2028, 0x2029, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000, 0xFEFF, 0xFEFF));
    int[] NON_SPACE = CodePoints.complement(SPACE_ECMA);
    /** What JDK or ECMAScript may match for {@code \S}: all but {@link #SPACE} ({@code [^\S]} generates SPACE). */
    int[] NON_SPACE_EITHER = CodePoints.complement(SPACE);

    /** Parses {@code pattern}; errors name {@code pointer}. */
    static Regex parse(String pattern, String pointer) {
        return new Parser(pattern, pointer).parseWhole();
    }

    final class Parser {
        private final int[] cps;
        private final String pointer;
        private int pos;
        private int end;

        Parser(String pattern, String pointer) {
            this.cps = pattern.codePoints().toArray();
            this.pointer = pointer;
            this.end = cps.length;
        }

        Regex parseWhole() {
            boolean startAnchor = pos < end && cps[pos] == '^';
            if (startAnchor) {
                pos++;
            }
            boolean endAnchor = end > pos && cps[end - 1] == '$' && !escaped(end - 1);
            if (endAnchor) {
                end--;
            }
            Regex r = alternation();
            if (pos != end) {
                throw fail("unbalanced ')' at offset " + pos);
            }
            if (r instanceof Alt && (startAnchor || endAnchor)) {
                throw fail("anchors around a top-level alternation (write ^(a|b)$)");
            }
            Regex anything = new Repeat(new Chars(CodePoints.ALL), 0, -1);
            List<Regex> parts = new ArrayList<>();
            if (!startAnchor) {
                parts.add(anything);
            }
            parts.add(r);
            if (!endAnchor) {
                parts.add(anything);
            }
            return parts.size() == 1 ? r : new Concat(parts);
        }

        private boolean escaped(int at) {
            int n = 0;
            for (int i = at - 1; i >= 0 && cps[i] == '\\'; i--) {
                n++;
            }
            return n % 2 == 1;
        }

        private UnsupportedSchemaException fail(String why) {
            return UnsupportedSchemaException.notEnforceable(pointer, "pattern outside the supported regex subset: " + why);
        }

        private Regex alternation() {
            List<Regex> options = new ArrayList<>();
            options.add(concatenation());
            while (pos < end && cps[pos] == '|') {
                pos++;
                options.add(concatenation());
            }
            return options.size() == 1 ? options.get(0) : new Alt(options);
        }

        private Regex concatenation() {
            List<Regex> parts = new ArrayList<>();
            while (pos < end && cps[pos] != '|' && cps[pos] != ')') {
                parts.add(quantified(atom()));
            }
            return parts.size() == 1 ? parts.get(0) : new Concat(parts);
        }

        private Regex quantified(Regex atom) {
            while (pos < end) {
                int c = cps[pos];
                int min;
                int max;
                if (c == '*') {
                    min = 0;
                    max = -1;
                    pos++;
                } else if (c == '+') {
                    min = 1;
                    max = -1;
                    pos++;
                } else if (c == '?') {
                    min = 0;
                    max = 1;
                    pos++;
                } else if (c == '{') {
                    pos++;
                    min = number();
                    max = min;
                    if (pos < end && cps[pos] == ',') {
                        pos++;
                        max = pos < end && cps[pos] == '}' ? -1 : number();
                    }
                    expect('}');
                    if (max != -1 && max < min) {
                        throw fail("{m,n} with n < m");
                    }
                } else {
                    return atom;
                }
                if (min > MAX_REPEAT || max > MAX_REPEAT) {
                    throw fail("repetition bound above " + MAX_REPEAT);
                }
                if (pos < end && cps[pos] == '?') {
                    pos++; // lazy: same language
                }
                if (pos < end && (cps[pos] == '+')) {
                    throw fail("possessive quantifier");
                }
                atom = new Repeat(atom, min, max);
            }
            return atom;
        }

        private int number() {
            int start = pos;
            long v = 0;
            while (pos < end && cps[pos] >= '0' && cps[pos] <= '9') {
                v = Math.min(v * 10 + (cps[pos++] - '0'), Integer.MAX_VALUE);
            }
            if (pos == start) {
                throw fail("'{' not followed by a repetition count");
            }
            return (int) v;
        }

        private void expect(int c) {
            if (pos >= end || cps[pos] != c) {
                throw fail("expected '" + Character.toString(c) + "' at offset " + pos);
            }
            pos++;
        }

        private Regex atom() {
            int c = cps[pos++];
            switch (c) {
                case '(' -> {
                    if (pos < end && cps[pos] == '?') {
                        if (pos + 1 < end && cps[pos + 1] == ':') {
                            pos += 2;
                        } else {
                            throw fail("lookaround or named/flagged group");
                        }
                    }
                    Regex inner = alternation();
                    expect(')');
                    return new Concat(List.of(inner)); // a group: never a top-level alternation
                }
                case '[' -> {
                    return new Chars(charClass());
                }
                case '.' -> {
                    return new Chars(DOT);
                }
                case '\\' -> {
                    return new Chars(escape(false));
                }
                case '*', '+', '?', '{' -> throw fail("quantifier without operand at offset " + (pos - 1));
                case '^', '$' -> throw fail("anchor other than a leading ^ or trailing $");
                case '}', ']' -> throw fail("unescaped '" + Character.toString(c) + "'");
                default -> {
                    return new Chars(CodePoints.of(c, c));
                }
            }
        }

        private int[] charClass() {
            boolean negate = pos < end && cps[pos] == '^';
            if (negate) {
                pos++;
            }
            int[] set = new int[0]; // negated: what either dialect may match (the class generates its complement)
            boolean first = true;
            while (true) {
                if (pos >= end) {
                    throw fail("unterminated character class");
                }
                int c = cps[pos];
                if (c == ']' && first) {   // ECMA-262: [] matches nothing, [^] anything; PCRE: a literal ']'
                    throw fail("']' first in a character class (the dialects disagree; escape it as \\])");
                }
                if (c == ']') {
                    pos++;
                    break;
                }
                first = false;
                int[] item;
                pos++;
                if (c == '\\') {
                    item = escape(true);
                } else if (c == '[') {
                    throw fail("nested class or set operation");
                } else {
                    item = CodePoints.of(c, c);
                }
                if (item.length == 2 && item[0] == item[1] && pos + 1 < end && cps[pos] == '-' && cps[pos + 1] != ']') {
                    pos++;
                    int hiC = cps[pos++];
                    int[] hiItem = hiC == '\\' ? escape(true) : CodePoints.of(hiC, hiC);
                    if (hiItem.length != 2 || hiItem[0] != hiItem[1] || hiItem[0] < item[0]) {
                        throw fail("invalid range in character class");
                    }
                    item = CodePoints.of(item[0], hiItem[0]);
                }
                set = CodePoints.union(set, negate ? wider(item) : item);
            }
            return negate ? CodePoints.complement(set) : set;
        }

        /** What JDK or ECMAScript may match for a class item: they differ on {@code \s} (JDK's is ASCII). */
        private static int[] wider(int[] item) {
            return item == SPACE ? SPACE_ECMA : item == NON_SPACE ? NON_SPACE_EITHER : item;
        }

        /** After a backslash: the set it stands for (for {@code \s} and {@code \S}, what both dialects match). */
        private int[] escape(boolean inClass) {
            if (pos >= end) {
                throw fail("trailing backslash");
            }
            int c = cps[pos++];
            return switch (c) {
                case 'd' -> DIGIT;
                case 'D' -> CodePoints.complement(DIGIT);
                case 'w' -> WORD;
                case 'W' -> CodePoints.complement(WORD);
                case 's' -> SPACE;
                case 'S' -> NON_SPACE;
                case 't' -> CodePoints.of('\t', '\t');
                case 'n' -> CodePoints.of('\n', '\n');
                case 'r' -> CodePoints.of('\r', '\r');
                case 'f' -> CodePoints.of('\f', '\f');
                case 'x' -> single(hex(2));
                case 'u' -> single(unicodeEscape());
                default -> {
                    if (Character.isLetterOrDigit(c)) {
                        throw fail("escape \\" + Character.toString(c));
                    }
                    yield CodePoints.of(c, c);
                }
            };
        }

        private int[] single(int cp) {
            return CodePoints.of(cp, cp);
        }

        /**
         * After {@code \\u}: its code unit, or with a low surrogate's {@code \\uHHHH} after a high one's the code
         * point the pair encodes, as ECMAScript's u mode (ajv's) reads {@code \\uD83D\\uDE00}: one character.
         */
        private int unicodeEscape() {
            int unit = hex(4);
            if (Character.isHighSurrogate((char) unit) && pos + 6 <= end && cps[pos] == '\\' && cps[pos + 1] == 'u') {
                int low = 0;
                for (int i = pos + 2; i < pos + 6 && low >= 0; i++) {
                    int d = Character.digit(cps[i], 16);
                    low = d < 0 ? -1 : low * 16 + d;
                }
                if (low >= 0 && Character.isLowSurrogate((char) low)) {
                    pos += 6;
                    return Character.toCodePoint((char) unit, (char) low);
                }
            }
            if (Character.isSurrogate((char) unit)) {   // generated text is UTF-8: it never holds a lone surrogate
                throw fail(String.format("a lone surrogate \\u%04X", unit));
            }
            return unit;
        }

        private int hex(int digits) {
            int v = 0;
            for (int i = 0; i < digits; i++) {
                int d = pos < end ? Character.digit(cps[pos], 16) : -1;
                if (d < 0) {
                    throw fail("bad hex escape");
                }
                v = v * 16 + d;
                pos++;
            }
            return v;
        }
    }
}
