package dev.llamaserve.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The regex subset's automaton agrees with java.util.regex's find() (ECMAScript end anchor) on random strings. */
class RegexTest {

    private static final String ALPHABET = "abcxyz019 -_.\t\né\"\\AZ";

    @ParameterizedTest
    @ValueSource(strings = {"^abc$", "abc", "^a+b*$", "^(ab|cd){1,3}$", "^[a-c]{2}[^a-c]?$", "^\\d{2,}$", "\\w\\s\\d",
        "^x.y$", "^(?:a|b)+?c$", "^[\\-_.]+$", "^\\D\\W\\S$", "z$", "^a", "^(a|)b$", "^[\\x41-\\u005A]+$", "^é\\\\?\"$"})
    void matchesLikeJavaRegex(String pattern) {
        Dfa dfa = Dfa.fromRegex(Regex.parse(pattern, "/pattern"), "/pattern").trim();
        // JSON Schema patterns are ECMAScript: $ is the very end (JDK's $ also allows a final newline)
        Pattern jdk = Pattern.compile(pattern.endsWith("$") ? pattern.substring(0, pattern.length() - 1) + "\\z" : pattern);
        String alphabet = ALPHABET + pattern.replaceAll("[\\\\^$(){}\\[\\]|?*+]", "").repeat(3);
        SplittableRandom r = new SplittableRandom(pattern.hashCode());
        int matched = 0;
        for (int i = 0; i < 20_000; i++) {
            StringBuilder sb = new StringBuilder();
            int len = r.nextInt(7);
            for (int k = 0; k < len; k++) {
                sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
            String s = sb.toString();
            boolean expected = jdk.matcher(s).find();
            assertThat(accepts(dfa, s)).as("%s on %s", pattern, s).isEqualTo(expected);
            matched += expected ? 1 : 0;
        }
        assertThat(matched).as("some strings match").isPositive();
    }

    /**
     * JSON Schema's patterns are ECMAScript's, whose whitespace ({@code \\s}) is WhiteSpace and LineTerminator:
     * TAB, VT, FF, ZWNBSP, the space separators (Zs), LF, CR, LS, PS. U+0085 is not among them, and JDK's
     * {@code \\s} is only the ASCII ones: what each whitespace class generates is valid in both.
     */
    @Test
    void whitespaceClassesGenerateOnlyWhatEcmaScriptAndJdkBothMatch() {
        Pattern jdkSpace = Pattern.compile("\\s");
        String[][] cases = {{"^\\s$", "s"}, {"^[\\s]$", "s"}, {"^[^\\S]$", "s"}, {"^\\S$", "S"}, {"^[\\S]$", "S"},
            {"^[^\\s]$", "S"}, {"^[^\\sa]$", "S"}};
        for (String[] c : cases) {
            Dfa dfa = Dfa.fromRegex(Regex.parse(c[0], "/pattern"), "/pattern").trim();
            boolean space = c[1].equals("s");
            for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
                if (accepts(dfa, Character.toString(cp))) {
                    boolean jdk = jdkSpace.matcher(Character.toString(cp)).matches();
                    assertThat(ecmaSpace(cp) == space && jdk == space).as("%s generates U+%04X", c[0], cp).isTrue();
                }
            }
            assertThat(accepts(dfa, space ? " " : "b")).as(c[0]).isTrue();
        }
    }

    private static boolean ecmaSpace(int cp) {
        return cp >= 0x09 && cp <= 0x0D || cp == 0xFEFF || cp == 0x2028 || cp == 0x2029
                || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    /** ajv's u mode reads an escaped surrogate pair as the one code point it encodes (a literal one already was). */
    @Test
    void anEscapedSurrogatePairIsOneCodePoint() {
        Dfa one = Dfa.fromRegex(Regex.parse("^\\uD83D\\uDE00$", "/pattern"), "/pattern").trim();
        assertThat(one).isNotNull();
        assertThat(accepts(one, "\uD83D\uDE00")).isTrue();
        assertThat(accepts(one, "\uD83D\uDE01")).isFalse();
        Dfa range = Dfa.fromRegex(Regex.parse("^[\\uD83D\\uDE00-\\uD83D\\uDE4F]+$", "/pattern"), "/pattern").trim();
        assertThat(accepts(range, "\uD83D\uDE03\uD83D\uDE4F")).isTrue();
        assertThat(accepts(range, "\uD83D\uDE50")).isFalse();
        assertThat(accepts(range, "a")).isFalse();
    }

    private static boolean accepts(Dfa dfa, String s) {
        if (dfa == null) {
            return false;
        }
        int st = 0;
        for (int cp : s.codePoints().toArray()) {
            st = dfa.next(st, cp);
            if (st < 0) {
                return false;
            }
        }
        return dfa.accept[st];
    }
}
