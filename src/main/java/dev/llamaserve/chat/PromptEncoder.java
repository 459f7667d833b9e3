package dev.llamaserve.chat;

import dev.llamaserve.chat.RenderedPrompt.Kind;
import dev.llamaserve.chat.RenderedPrompt.Segment;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InvalidRequestException;
import dev.llamaserve.engine.UnicodeText;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes a rendered prompt injection-safely: each special segment becomes its control id (looked
 * up by text); the text between two special segments (template text and request text together) is
 * encoded as one run by the plain tokenizer, which has no special tokens, so special-token text inside
 * a request becomes ordinary text tokens and decodes back to itself. The checkpoint's non-special added
 * tokens are matched in the run, as in any text.
 *
 * <p>Hugging Face's tokenizer splits its input at added tokens before pre-tokenizing, so for text
 * without injected special-token text the ids equal {@code encode(renderedText)} with special tokens
 * parsed, i.e. what transformers and vLLM produce.
 */
public final class PromptEncoder {

    private final LlamaTokenizer tokenizer;

    public PromptEncoder(LlamaTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    public EncodedPrompt encode(RenderedPrompt prompt) {
        return encode(prompt, 0);
    }

    /**
     * As {@link #encode(RenderedPrompt)}, refusing early a prompt that proves too long for {@code maxModelLen}
     * (0: no bound) from a part of a long run ({@link LlamaTokenizer#tokensAtLeast}), with the context-length
     * rule's error: a body of megabytes cost seconds of CPU and hundreds of MB to count in full, only to be refused.
     */
    public EncodedPrompt encode(RenderedPrompt prompt, int maxModelLen) {
        IntList ids = new IntList();
        List<EncodedPrompt.TokenSpan> spans = new ArrayList<>();
        List<Segment> run = new ArrayList<>();
        for (Segment s : prompt.segments()) {
            if (s.kind() == Kind.SPECIAL) {
                encodeRun(run, ids, spans, maxModelLen);
                run.clear();
                ids.add(tokenizer.addedTokenId(s.text()).filter(tokenizer::isSpecial).orElseThrow(() ->
                        new IllegalStateException("the tokenizer has no special token " + s.text())));
            } else {
                run.add(s);
            }
        }
        encodeRun(run, ids, spans, maxModelLen);
        return new EncodedPrompt(ids.toArray(), spans);
    }

    private void encodeRun(List<Segment> run, IntList ids, List<EncodedPrompt.TokenSpan> spans, int maxModelLen) {
        if (run.isEmpty()) {
            return;
        }
        StringBuilder text = new StringBuilder();
        for (Segment s : run) {
            if (s.kind() == Kind.REQUEST) {
                UnicodeText.requireValid(s.param(), s.text());
            }
            text.append(s.text());
        }
        String runText = text.toString();   // once: a run may be megabytes
        if (maxModelLen > 0) {
            int room = GenerationRequest.maxPromptTokens(maxModelLen) - ids.size();
            int atLeast = tokenizer.tokensAtLeast(runText, Math.max(0, room));
            if (atLeast >= 0) {
                throw InvalidRequestException.promptTooLong(GenerationRequest.ParamNames.CHAT.prompt(),
                        (long) ids.size() + atLeast, true, maxModelLen);
            }
        }
        int[] runIds = tokenizer.encode(runText, false);
        long[] starts = tokenizer.byteStarts(runText, runIds);   // valid text (request text checked above)
        int base = ids.size();
        long offset = 0;
        for (Segment s : run) {
            long length = LlamaTokenizer.utf8Length(s.text());
            if (s.kind() == Kind.REQUEST) {
                int first = tokenAt(starts, offset);
                int last = tokenAt(starts, offset + length - 1);
                boolean aligned = starts[first] == offset && starts[last + 1] == offset + length
                        && spelledExactly(runIds, starts, first, last);
                spans.add(new EncodedPrompt.TokenSpan(s.param(), base + first, base + last + 1, aligned));
            }
            offset += length;
        }
        ids.addAll(runIds);
    }

    /** Whether tokens {@code [first, last]} cover their bytes only (none took in whitespace it drops). */
    private boolean spelledExactly(int[] runIds, long[] starts, int first, int last) {
        for (int i = first; i <= last; i++) {
            if (starts[i + 1] - starts[i] != tokenizer.tokenByteLength(runIds[i])) {
                return false;
            }
        }
        return true;
    }

    /** The index of the token whose bytes contain byte {@code offset}. */
    private static int tokenAt(long[] starts, long offset) {
        int lo = 0;
        int hi = starts.length - 2;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (starts[mid] <= offset) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    /** A growable int array (no boxing: prompts run to 100k+ tokens). */
    private static final class IntList {
        private int[] values = new int[256];
        private int size;

        void add(int v) {
            ensure(size + 1);
            values[size++] = v;
        }

        void addAll(int[] vs) {
            ensure(size + vs.length);
            System.arraycopy(vs, 0, values, size, vs.length);
            size += vs.length;
        }

        int size() {
            return size;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(values, size);
        }

        private void ensure(int capacity) {
            if (capacity > values.length) {
                values = java.util.Arrays.copyOf(values, Math.max(capacity, values.length * 2));
            }
        }
    }
}
