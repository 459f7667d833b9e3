package dev.llamaserve.chat;

import dev.llamaserve.engine.OutputConstraint;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.StreamReadConstraints;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Recognizes Llama 3.1 JSON tool calls in model output: {@code {"name": …, "parameters": {…}}}
 * (several may follow one another, separated by {@code ;} or whitespace), either as the whole output
 * or after {@code <|python_tag|>}. Text before the tag stays content. Anything that does not parse
 * as calls stays content, unchanged, and so does an answer written beside tools that their grammar did not write
 * ({@link Calls#constraint}). Without the tag, a call's first key is one a call has ({@link #start}), as a
 * streamed answer reads it; after the tag its keys may come in any order, as vLLM's llama3_json parser reads them.
 *
 * <p>The engine's text leaves special tokens out, so the caller gives the offset in the text at
 * which the {@code <|python_tag|>} token was generated ({@link #NO_TAG} if none, see
 * {@link ToolCallStartTokens}); a literal {@code <|python_tag|>} in the text is recognized too.
 *
 * <p>The one parser of the model's tool calls: the HTTP API and the Spring AI adapter both use it.
 */
public final class ToolCallParser {

    public static final int NO_TAG = -1;
    static final String PYTHON_TAG = SpecialTokens.PYTHON_TAG;

    /**
     * Reads a call's JSON keeping every number exact (arguments are re-serialized from the tree); numbers
     * longer than 100 digits or nesting deeper than 200 make it no call.
     */
    private static final JsonMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNumberLength(100).maxNestingDepth(200).build())
                    .build())
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .build();

    /** A parsed call: the function name and the JSON text of its parameters. */
    public record ParsedCall(String name, String arguments) {}

    /**
     * @param content the text that stays content (null when there is none)
     * @param calls the tool calls; empty when the output is plain content, or when its only call was cut by the token
     *     limit before its name was whole
     * @param readAsCalls whether the output (after any content) was read as tool calls: where there are calls, and
     *     where the only one was cut before its name was whole (no call is left, and its syntax is no content)
     */
    public record Result(String content, List<ParsedCall> calls, boolean readAsCalls) {
        /** A result whose output was read as calls exactly where there are some. */
        public Result(String content, List<ParsedCall> calls) {
            this(content, calls, !calls.isEmpty());
        }

        public boolean hasCalls() {
            return !calls.isEmpty();
        }

        /**
         * The calls a client that turned parallel calls off ({@code parallel_tool_calls: false}) may get: the first
         * only, as OpenAI answers at most one call then. Where no grammar forced one call ({@code tool_choice}
         * auto), Llama 3.1 may still write several.
         */
        public Result allowing(boolean parallel) {
            return parallel || calls.size() <= 1 ? this : new Result(content, List.of(calls.get(0)), true);
        }
    }

    /**
     * The calls a request may get: of these functions ({@code names}; null: any name), and several only where
     * {@code parallel}. Where names are given (a {@code response_format} answer beside tools), an object that names
     * none of them is no call but the answer's text: such an answer with a "name" and "parameters" came back as a
     * call of a function that does not exist, and an agent loop called it again and again. Where the output was
     * written under {@code constraint}, it is calls only where the calls' grammar allows it
     * ({@link OutputConstraint.ToolCallsOrAnswer#allowsCalls}): an answer that names a tool, with parameters that
     * tool's schema never enforced, is the answer too.
     *
     * @param constraint the calls-or-answer constraint the output was written under; null where none
     */
    public record Calls(java.util.Set<String> names, boolean parallel, OutputConstraint.ToolCallsOrAnswer constraint) {
        /** Any name, several calls: what a caller that knows no tools' names expects. */
        public static final Calls ANY = new Calls(null, true);

        public Calls {
            names = names == null ? null : java.util.Set.copyOf(names);
        }

        /** Calls of these names (null: any), told from an answer by their names alone. */
        public Calls(java.util.Set<String> names, boolean parallel) {
            this(names, parallel, null);
        }

        /**
         * The calls of an answer under {@code constraint}: where a format stands beside the tools
         * ({@link OutputConstraint.ToolCallsOrAnswer}), a call names one of the constraint's functions (the answer
         * may hold "name" and "parameters" too) and is one its grammar allows; elsewhere any name, the model's own
         * included.
         */
        public static Calls of(OutputConstraint constraint, boolean parallel) {
            return constraint instanceof OutputConstraint.ToolCallsOrAnswer t
                    ? new Calls(t.calls().functions().stream().map(OutputConstraint.Function::name)
                            .collect(java.util.stream.Collectors.toSet()), parallel, t)
                    : new Calls(null, parallel);
        }

        /** Whether {@code output}, read as calls, may be calls: what its constraint's calls allow (any without one). */
        boolean grammarAllows(String output) {
            return constraint == null || constraint.allowsCalls(output);
        }

        /**
         * Whether an answer may hold several calls: the one rule of the HTTP API and the Spring AI adapter, for the
         * grammar of forced calls (and of calls-or-answer) and for these calls alike. A tool choice that names one
         * function is exactly one call of it, whatever is asked; else {@code parallel_tool_calls} as given, and
         * parallel where not given (OpenAI's default).
         *
         * @param parallelToolCalls the request's {@code parallel_tool_calls} (null: not given)
         * @param namedFunction whether the tool choice in force names one function
         */
        public static boolean parallel(Boolean parallelToolCalls, boolean namedFunction) {
            return !namedFunction && (parallelToolCalls == null || parallelToolCalls);
        }

        /** Whether a call of this name is one of the functions (any, where no names are given). */
        public boolean allows(String name) {
            return names == null || names.contains(name);
        }

        /**
         * What a held answer that began as a call ({@link #start} said {@link Start#CALL}; no tag) says so far of its
         * leading {@code "name"} ({@link #leadingName}): {@link Start#UNDECIDED} while its first key or that key's
         * value is still being written; {@link Start#CONTENT} where that name is none of these functions (a JSON
         * answer beside tools, such as a response_format's or an entity's with a "name" first: it streams from here,
         * not all at its end); else {@link Start#CALL}, read whole at the end. Always {@link Start#CALL} where any
         * name is a call. The streaming answers of the HTTP API and the Spring AI adapter ask it token by token while
         * it says {@link Start#UNDECIDED}.
         */
        public Start leading(CharSequence held) {
            if (names == null) {
                return Start.CALL;
            }
            LeadingName name = leadingName(held);
            if (!name.decided()) {
                return Start.UNDECIDED;
            }
            return name.name() != null && !allows(name.name()) ? Start.CONTENT : Start.CALL;
        }

    }

    private ToolCallParser() {}

    public static Result parse(String text, int tagOffset) {
        return parse(text, tagOffset, false);
    }

    /**
     * {@link #parse(String, int, boolean)} for a request that expects {@code calls}: output that names a function
     * it does not have, or that their grammar does not allow ({@link Calls#constraint}), is content, and without
     * parallel calls only the first call is answered.
     */
    public static Result parse(String text, int tagOffset, boolean cutOff, Calls calls) {
        Result r = parse(text, tagOffset, cutOff);
        if (r.readAsCalls() && !calls.grammarAllows(text)) {
            return new Result(text.isEmpty() ? null : text, List.of());
        }
        for (ParsedCall call : r.calls()) {
            if (!calls.allows(call.name())) {
                return new Result(text.isEmpty() ? null : text, List.of());
            }
        }
        return r.allowing(calls.parallel());
    }

    /**
     * @param cutOff the answer was cut by its token limit: where it began as calls (after the tag, or as a JSON
     *     object whose first key is a call's or may still be one, as {@code {"\\u006E} is), its unfinished last call
     *     is kept as a partial call (its name, its arguments' text as far as written), as OpenAI answers a call cut
     *     by {@code max_tokens}; one cut before its name was whole is left out, as OpenAI never sends a call without
     *     its name (Spring AI's OpenAI client refuses one), so an answer whose only call was cut there has neither
     *     calls nor content ({@link Result#readAsCalls}): the model's call syntax is never handed over as the
     *     answer's text
     */
    public static Result parse(String text, int tagOffset, boolean cutOff) {
        String before;
        String rest;
        boolean tagged = true;
        int literal = text.indexOf(PYTHON_TAG);
        if (tagOffset >= 0 && tagOffset <= text.length() && (literal < 0 || tagOffset <= literal)) {
            before = text.substring(0, tagOffset);
            rest = text.substring(tagOffset);
            if (rest.startsWith(PYTHON_TAG)) {
                rest = rest.substring(PYTHON_TAG.length());
            }
        } else if (literal >= 0) {
            before = text.substring(0, literal);
            rest = text.substring(literal + PYTHON_TAG.length());
        } else {
            before = "";
            rest = text;
            tagged = false;
        }
        List<ParsedCall> calls = parseCalls(rest, cutOff && (tagged || start(rest) != Start.CONTENT), tagged);
        if (calls == null) {
            return new Result(text.isEmpty() ? null : text, List.of());
        }
        return new Result(before.isBlank() ? null : before, calls, true);
    }

    /** What the start of an answer (without tag) says: too little to tell, a call may follow, or content. */
    public enum Start { UNDECIDED, CALL, CONTENT }

    private static final List<String> CALL_KEYS = List.of("name", "parameters", "arguments");

    /**
     * Whether {@code text}, the answer so far (no tag), may be a tool call: a JSON object whose first key is one
     * a call has ({@code name}, or {@code parameters}/{@code arguments} first). Any other start is content, and
     * can be streamed at once: a JSON answer (a {@code response_format} with tools) is known not to be a call
     * after its first key, not only at its end.
     */
    public static Start start(String text) {
        String s = text.stripLeading();
        if (s.isEmpty()) {
            return Start.UNDECIDED;
        }
        if (s.charAt(0) != '{') {
            return Start.CONTENT;
        }
        String rest = s.substring(1).stripLeading();
        if (rest.isEmpty()) {
            return Start.UNDECIDED;
        }
        if (rest.charAt(0) != '"') {
            return Start.CONTENT;
        }
        int close = 1;   // the key's closing quote: JSON escapes (a constrained call may write "\u006eame") skipped
        while (close < rest.length() && rest.charAt(close) != '"') {
            close += rest.charAt(close) == '\\' ? 2 : 1;
        }
        if (close >= rest.length()) {
            String partial = rest.substring(1);
            return partial.indexOf('\\') >= 0 || CALL_KEYS.stream().anyMatch(k -> k.startsWith(partial))
                    ? Start.UNDECIDED : Start.CONTENT;
        }
        String key;
        try {
            key = MAPPER.readTree(rest.substring(0, close + 1)).asString();
        } catch (JacksonException e) {
            return Start.CONTENT;   // not a JSON string: no call
        }
        return CALL_KEYS.contains(key) ? Start.CALL : Start.CONTENT;
    }

    /**
     * The calls in {@code s}, or null unless all of {@code s} is calls (at least one). Where {@code partialLast}, an
     * unclosed last object is a partial call, left out where its name is not whole (the list may then be empty).
     * Where {@code tagged} (after {@code <|python_tag|>}) a call's keys may come in any order.
     */
    private static List<ParsedCall> parseCalls(String s, boolean partialLast, boolean tagged) {
        List<ParsedCall> calls = new ArrayList<>();
        int i = 0;
        int n = s.length();
        while (true) {
            while (i < n && (Character.isWhitespace(s.charAt(i)) || (s.charAt(i) == ';' && !calls.isEmpty()))) {
                i++;
            }
            if (i == n) {
                return calls.isEmpty() ? null : calls;
            }
            if (s.charAt(i) != '{') {
                return null;
            }
            int end = objectEnd(s, i);
            if (end < 0) {
                if (!partialLast) {
                    return null;
                }
                ParsedCall cut = partialCall(s.substring(i));
                if (!cut.name().isEmpty()) {
                    calls.add(cut);
                }
                return calls;
            }
            ParsedCall call = toCall(s.substring(i, end), tagged);
            if (call == null) {
                return null;
            }
            calls.add(call);
            i = end;
        }
    }

    /** Longest beginning of an answer {@link #leadingName} reads: a name comes first, and is short. */
    public static final int LEADING_NAME_CHARS = 512;

    /**
     * What the beginning of an answer that may be a call ({@link #start}) says of its name: {@code decided} false
     * while its first key or that key's value is still being written; then {@code name} is the value of a first key
     * {@code name}, or null where the first key is another or its value no string (the answer is read whole at its
     * end). Reads at most {@link #LEADING_NAME_CHARS} characters, the first key and value only: a caller may ask at
     * every token.
     */
    public record LeadingName(boolean decided, String name) {
        static final LeadingName OPEN = new LeadingName(false, null);
        static final LeadingName NONE = new LeadingName(true, null);
    }

    public static LeadingName leadingName(CharSequence text) {
        boolean whole = text.length() <= LEADING_NAME_CHARS;
        String s = text.subSequence(0, Math.min(text.length(), LEADING_NAME_CHARS)).toString();
        try (JsonParser p = MAPPER.createParser(s)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return LeadingName.NONE;
            }
            JsonToken key = p.nextToken();
            if (key != JsonToken.PROPERTY_NAME) {
                return key == null && whole ? LeadingName.OPEN : LeadingName.NONE;
            }
            if (!p.currentName().equals("name")) {
                return LeadingName.NONE;
            }
            JsonToken value = p.nextToken();
            return value == JsonToken.VALUE_STRING ? new LeadingName(true, p.getString())
                    : value == null && whole ? LeadingName.OPEN : LeadingName.NONE;
        } catch (JacksonException e) {
            return whole ? LeadingName.OPEN : LeadingName.NONE;   // cut inside the key or the value
        }
    }

    /** Index after the JSON object starting at {@code start}, or -1 if it is not closed. */
    private static int objectEnd(String s, int start) {
        int depth = 0;
        boolean inString = false;
        for (int i = start; i < s.length(); i++) {
            char c = s.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
                if (depth == 0) {
                    return i + 1;
                }
            }
        }
        return -1;
    }

    /**
     * What an unclosed call object says: its name where the string was written whole (else empty), and the text of its
     * parameters ({@code parameters} or {@code arguments}) from their start to the cut. Keys may be JSON-escaped
     * (a grammar-forced call writes {@code "\\u006eame"}), so the text is read token by token.
     */
    private static ParsedCall partialCall(String json) {
        String name = "";
        String arguments = "";
        try (JsonParser p = MAPPER.createParser(json)) {
            int depth = 0;
            String key = null;
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                if (depth == 1 && t == JsonToken.PROPERTY_NAME) {
                    key = p.currentName();
                    continue;
                }
                if (depth == 1 && key != null) {
                    if (key.equals("name") && t == JsonToken.VALUE_STRING) {
                        name = p.getString();
                    } else if (key.equals("parameters") || key.equals("arguments")) {
                        arguments = json.substring((int) p.currentTokenLocation().getCharOffset());
                        break;
                    }
                    key = null;
                }
                if (t.isStructStart()) {
                    depth++;
                } else if (t.isStructEnd()) {
                    depth--;
                }
            }
        } catch (JacksonException e) {
            // the cut: what was read so far stands
        }
        return new ParsedCall(name, arguments);
    }

    private static ParsedCall toCall(String json, boolean tagged) {
        JsonNode node;
        try {
            node = MAPPER.readTree(json);
        } catch (JacksonException | NumberFormatException | ArithmeticException e) {
            return null; // not a call: stays content
        }
        if (node == null || !node.isObject() || node.isEmpty()) {
            return null;
        }
        if (!tagged && !CALL_KEYS.contains(node.properties().iterator().next().getKey())) {
            return null;   // as start() reads untagged text: a call's first key is one a call has (a stream agrees)
        }
        JsonNode name = node.get("name");
        if (name == null || !name.isString() || name.asString().isBlank()) {
            return null;
        }
        JsonNode params = node.has("parameters") ? node.get("parameters") : node.get("arguments");
        if (params == null || !params.isObject()) {
            return null;
        }
        return new ParsedCall(name.asString(), MAPPER.writeValueAsString(params));
    }
}
