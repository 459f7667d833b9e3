package dev.llamaserve.engine;

import static dev.llamaserve.engine.InvalidRequestException.UNSUPPORTED_VALUE;

import dev.llamaserve.engine.grammar.Grammar;
import dev.llamaserve.engine.grammar.GrammarOptions;
import dev.llamaserve.engine.grammar.SchemaCompiler;
import dev.llamaserve.engine.grammar.UnsupportedSchemaException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * The output-constraint part of {@link RequestRules}: compiles an {@link OutputConstraint} into the grammar
 * the engine enforces (compiled grammars are cached by content), or refuses what cannot be enforced (in a
 * strict schema; in one that is not, only a wrong schema or one that allows nothing) with an
 * {@link InvalidRequestException} {@code unsupported_value} on {@code response_format} or {@code tools}, whose
 * message names the keyword's JSON pointer inside the schema. Tells a {@link OutputConstraint.ToolCallsOrAnswer}'s
 * calls from its answer once written ({@link #allowsCalls}).
 */
final class ConstraintRules {

    /** One compiler (and cache) for the process: every engine and request shares compiled grammars. */
    private static final SchemaCompiler COMPILER = new SchemaCompiler(GrammarOptions.DEFAULT);

    private ConstraintRules() {}

    /** The grammar of {@code c}, or null for free text (null). */
    static Grammar grammar(OutputConstraint c) {
        if (c == null) {
            return null;
        }
        if (c instanceof OutputConstraint.JsonObject) {
            return COMPILER.jsonObject();
        }
        if (c instanceof OutputConstraint.JsonSchema s) {
            try {
                return COMPILER.compileCached(s.schema(), s.strict());
            } catch (UnsupportedSchemaException e) {
                throw refused(s, e);
            }
        }
        OutputConstraint.ToolCalls t = c instanceof OutputConstraint.ToolCallsOrAnswer o ? o.calls()
                : (OutputConstraint.ToolCalls) c;
        try {
            if (c instanceof OutputConstraint.ToolCallsOrAnswer o) {
                OutputConstraint.JsonSchema s = o.answer() instanceof OutputConstraint.JsonSchema js ? js : null;
                Grammar g = COMPILER.toolCallsOrAnswer(names(t), parameters(t), strict(t), t.parallel(),
                        s == null ? null : s.schema(), s == null || s.strict());
                callsOf(o);   // compiled now, for the end of the request (allowsCalls)
                return g;
            }
            return COMPILER.toolCalls(names(t), parameters(t), strict(t), t.parallel());
        } catch (UnsupportedSchemaException e) {
            if (e.function() < 0 && c instanceof OutputConstraint.ToolCallsOrAnswer o
                    && o.answer() instanceof OutputConstraint.JsonSchema s) {
                throw refused(s, e);
            }
            String fn = e.function() >= 0 ? "function " + quote(names(t).get(e.function())) + " " : "";
            throw new InvalidRequestException("tools", UNSUPPORTED_VALUE, "'tools' " + fn
                    + "parameters cannot be enforced: " + e.getMessage());
        }
    }

    /**
     * Whether {@code output} is tool calls as {@code o}'s grammar enforces them, or their beginning: its calls
     * alone ({@link SchemaCompiler#callsOfToolCallsOrAnswer}) allow it. An answer that only looks like calls is not.
     */
    static boolean allowsCalls(OutputConstraint.ToolCallsOrAnswer o, String output) {
        Grammar calls = callsOf(o);
        return calls != null && calls.initialState().advance(output.getBytes(StandardCharsets.UTF_8)) != null;
    }

    /** The grammar of {@code o}'s calls alone, or null where they allow no call (only the answer is possible). */
    private static Grammar callsOf(OutputConstraint.ToolCallsOrAnswer o) {
        OutputConstraint.ToolCalls t = o.calls();
        try {
            return COMPILER.callsOfToolCallsOrAnswer(names(t), parameters(t), strict(t), t.parallel());
        } catch (UnsupportedSchemaException e) {
            return null;
        }
    }

    private static List<String> names(OutputConstraint.ToolCalls t) {
        return t.functions().stream().map(OutputConstraint.Function::name).toList();
    }

    private static List<JsonNode> parameters(OutputConstraint.ToolCalls t) {
        return t.functions().stream().map(OutputConstraint.Function::parameters).toList();
    }

    private static List<Boolean> strict(OutputConstraint.ToolCalls t) {
        return t.functions().stream().map(OutputConstraint.Function::strict).toList();
    }

    private static InvalidRequestException refused(OutputConstraint.JsonSchema s, UnsupportedSchemaException e) {
        return new InvalidRequestException("response_format", UNSUPPORTED_VALUE, "'response_format' json_schema "
                + (s.name() == null ? "" : quote(s.name()) + " ") + "cannot be enforced: " + e.getMessage());
    }

    private static String quote(String s) {
        return "\"" + (s.length() > 64 ? s.substring(0, 61) + "..." : s) + "\"";
    }
}
