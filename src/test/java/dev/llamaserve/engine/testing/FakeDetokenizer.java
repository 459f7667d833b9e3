package dev.llamaserve.engine.testing;

import dev.llamaserve.engine.Detokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * A byte-level stand-in for the tokenizer (tests only): ids 0..255 are single bytes (so multi-byte
 * UTF-8 characters span tokens), ids 256.. below the special range are short ASCII words, and the ids
 * in {@code specials} are control tokens that decode to "".
 */
public final class FakeDetokenizer implements Detokenizer {

    private final Set<Integer> specials;

    public FakeDetokenizer(Set<Integer> specials) {
        this.specials = Set.copyOf(specials);
    }

    @Override
    public IncrementalDecoder newDecoder() {
        return new Decoder();
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int id : ids) {
            if (!(skipSpecialTokens && isSpecial(id))) {
                out.writeBytes(tokenBytes(id));
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] tokenBytes(int id) {
        if (isSpecial(id)) {
            return ("<|special_" + id + "|>").getBytes(StandardCharsets.UTF_8);
        }
        if (id < 256) {
            return new byte[] {(byte) id};
        }
        String[] syllables = {"ka", "lo", "mi", "ne", "su", "ra", "to", "vi"};
        String w = (id % 3 == 0 ? " " : "") + syllables[id % 8] + syllables[(id / 8) % 8];
        return w.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public boolean isSpecial(int id) {
        return specials.contains(id);
    }

    private final class Decoder implements IncrementalDecoder {
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

        @Override
        public String next(int tokenId) {
            if (isSpecial(tokenId)) {
                return "";
            }
            pending.writeBytes(tokenBytes(tokenId));
            byte[] b = pending.toByteArray();
            int cut = completeLength(b);
            pending.reset();
            pending.write(b, cut, b.length - cut);
            return new String(b, 0, cut, StandardCharsets.UTF_8);
        }

        @Override
        public String flush() {
            String s = pending.size() == 0 ? "" : "\uFFFD";
            pending.reset();
            return s;
        }
    }

    /** Bytes up to the start of a trailing incomplete (but so far valid) UTF-8 sequence. */
    static int completeLength(byte[] b) {
        int n = b.length;
        for (int back = 1; back <= Math.min(3, n); back++) {
            int lead = b[n - back] & 0xff;
            if ((lead & 0xC0) == 0x80) {
                continue; // continuation byte: look further back
            }
            int need = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 && lead < 0xE0 ? 2 : 1;
            return need > back ? n - back : n;
        }
        return n;
    }
}
