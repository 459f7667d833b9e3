package dev.llamaserve.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.OutputConstraint;
import java.util.List;
import org.junit.jupiter.api.Test;

class ToolCallParserTest {

    private static final int NO_TAG = ToolCallParser.NO_TAG;

    /**
     * An answer cut by its token limit that began as calls: the unfinished call is a partial call (OpenAI's answer to
     * a call cut by max_tokens), never the model's call syntax as text; other cut answers stay content. A call cut
     * before its name was whole is left out: OpenAI never sends an empty name (Spring AI's OpenAI client throws on one).
     */
    @Test
    void aCallCutByTheTokenLimitIsAPartialCall() {
        String cut = "{\"name\": \"localTime\", \"parameters\": {\"city\": \"Par";
        assertThat(ToolCallParser.parse(cut, NO_TAG).hasCalls()).as("not cut off: stays content").isFalse();
        ToolCallParser.Result r = ToolCallParser.parse(cut, NO_TAG, true);
        assertThat(r.content()).isNull();
        assertThat(r.calls()).containsExactly(new ToolCallParser.ParsedCall("localTime", "{\"city\": \"Par"));
        // a grammar-forced call writes its keys escaped; the name itself cut: no call, and no content
        assertNoCallNoContent(ToolCallParser.parse("{ \"\\u006Ea\\u006De\": \"local", NO_TAG, true));
        assertThat(ToolCallParser.parse("{\"\\u006eame\": \"f\", \"arguments\": {\"a\": [1, 2", NO_TAG, true).calls())
                .containsExactly(new ToolCallParser.ParsedCall("f", "{\"a\": [1, 2"));
        // after the tag, with a whole call before the cut one
        String tagged = "Sure.{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"param";
        ToolCallParser.Result t = ToolCallParser.parse(tagged, "Sure.".length(), true);
        assertThat(t.content()).isEqualTo("Sure.");
        assertThat(t.calls()).containsExactly(new ToolCallParser.ParsedCall("a", "{}"),
                new ToolCallParser.ParsedCall("b", ""));
        // the same with the second call cut before its name was whole: the whole call alone
        ToolCallParser.Result beforeName = ToolCallParser.parse("Sure.{\"name\": \"a\", \"parameters\": {}}; {\"na",
                "Sure.".length(), true);
        assertThat(beforeName.content()).isEqualTo("Sure.");
        assertThat(beforeName.calls()).containsExactly(new ToolCallParser.ParsedCall("a", "{}"));
        // the only call after the tag cut inside its name: the text before the tag alone
        ToolCallParser.Result inName = ToolCallParser.parse("Sure.{\"name\": \"lo", "Sure.".length(), true);
        assertThat(inName.content()).isEqualTo("Sure.");
        assertThat(inName.calls()).isEmpty();
        assertThat(inName.readAsCalls()).isTrue();
        // cut before its first key was whole (a grammar-forced call spends several tokens on "\u006Eame")
        assertNoCallNoContent(ToolCallParser.parse("{ \"\\u006E", NO_TAG, true));
        assertNoCallNoContent(ToolCallParser.parse("{", NO_TAG, true));
        assertNoCallNoContent(ToolCallParser.parse("{\"parameters\": {\"city\": \"Par", NO_TAG, true));
        // cut answers that are not calls stay what they are
        assertThat(ToolCallParser.parse("{\"answer\": \"Par", NO_TAG, true).calls()).isEmpty();
        assertThat(ToolCallParser.parse("The weather in Par", NO_TAG, true).content()).isEqualTo("The weather in Par");
        assertThat(ToolCallParser.parse("The weather in Par", NO_TAG, true).readAsCalls()).isFalse();
    }

    private static void assertNoCallNoContent(ToolCallParser.Result r) {
        assertThat(r.calls()).as("no call with an empty name").isEmpty();
        assertThat(r.content()).as("no call syntax as text").isNull();
        assertThat(r.readAsCalls()).isTrue();
    }

    /**
     * Next to tools, a response_format answer may hold "name" and "parameters": it is a call only where it names one
     * of the request's functions (it came back as a call of a function that does not exist), and only where its first
     * key is a call's, as start() reads a stream (streamed and not, the same answer was content and a call).
     */
    @Test
    void aCallNamesOneOfTheRequestsFunctionsAndStartsAsACall() {
        ToolCallParser.Calls tools = new ToolCallParser.Calls(java.util.Set.of("get_time"), true);
        String answer = "{\"name\": \"ole de\", \"parameters\": {\"color\": \"blue\"}}";
        ToolCallParser.Result r = ToolCallParser.parse(answer, ToolCallParser.NO_TAG, false, tools);
        assertThat(r.hasCalls()).isFalse();
        assertThat(r.content()).isEqualTo(answer);
        assertThat(ToolCallParser.parse("{\"name\": \"get_time\", \"parameters\": {}}", ToolCallParser.NO_TAG,
                false, tools).calls()).extracting(ToolCallParser.ParsedCall::name).containsExactly("get_time");
        // one unknown name among several: the whole output is the answer's
        assertThat(ToolCallParser.parse("{\"name\": \"get_time\", \"parameters\": {}}; {\"name\": \"x\","
                + " \"parameters\": {}}", ToolCallParser.NO_TAG, false, tools).hasCalls()).isFalse();
        // cut after its name: a partial call; cut inside it: no call and no content
        assertThat(ToolCallParser.parse("{\"name\": \"get_time\", \"par", ToolCallParser.NO_TAG, true, tools).calls())
                .containsExactly(new ToolCallParser.ParsedCall("get_time", ""));
        assertNoCallNoContent(ToolCallParser.parse("{\"name\": \"get_ti", ToolCallParser.NO_TAG, true, tools));

        String typeFirst = "{\"type\": \"function\", \"name\": \"get_time\", \"parameters\": {}}";
        assertThat(ToolCallParser.start(typeFirst)).isEqualTo(ToolCallParser.Start.CONTENT);
        assertThat(ToolCallParser.parse(typeFirst, ToolCallParser.NO_TAG, false, tools).hasCalls())
                .as("as start() read it").isFalse();
    }

    private static final tools.jackson.databind.json.JsonMapper JSON = tools.jackson.databind.json.JsonMapper.builder()
            .build();

    /**
     * Tools beside a response_format whose answer has "name" and free-form "parameters": the tool get_time's city is
     * required and no other argument is allowed, the answer's parameters may be anything.
     */
    static OutputConstraint.ToolCallsOrAnswer lookalikeAnswer(boolean parallel) {
        return new OutputConstraint.ToolCallsOrAnswer(new OutputConstraint.ToolCalls(List.of(
                new OutputConstraint.Function("get_time", JSON.readTree("{\"type\": \"object\", \"properties\": "
                        + "{\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"], "
                        + "\"additionalProperties\": false}"))), parallel),
                new OutputConstraint.JsonSchema("lookalike", JSON.readTree("{\"type\": \"object\", \"properties\": "
                        + "{\"name\": {\"type\": \"string\"}, \"parameters\": {\"type\": \"object\"}}, "
                        + "\"required\": [\"name\", \"parameters\"]}")));
    }

    /**
     * Beside a response_format, output is calls only where the calls' grammar allows it: an answer that names a tool,
     * its parameters never held to that tool's schema, is the answer (it came back as a call whose arguments the
     * tool's schema refuses), whole or cut; calls the grammar allows are calls, whole or cut.
     */
    @Test
    void besideAFormatAnAnswerThatNamesAToolIsTheAnswerUnlessTheCallsGrammarWroteIt() {
        ToolCallParser.Calls calls = ToolCallParser.Calls.of(lookalikeAnswer(true), true);
        String answer = "{\"name\": \"get_time\", \"parameters\": {\"town\": 7}}";
        ToolCallParser.Result r = ToolCallParser.parse(answer, NO_TAG, false, calls);
        assertThat(r.readAsCalls()).isFalse();
        assertThat(r.content()).isEqualTo(answer);
        ToolCallParser.Result cut = ToolCallParser.parse("{\"name\": \"get_time\", \"parameters\": {\"town\": 7",
                NO_TAG, true, calls);
        assertThat(cut.readAsCalls()).as("cut").isFalse();
        assertThat(cut.content()).isEqualTo("{\"name\": \"get_time\", \"parameters\": {\"town\": 7");
        assertThat(ToolCallParser.parse("{\"name\": \"get_time\", \"parameters\": {\"city\": \"Oslo\", \"x\": 1}}",
                NO_TAG, false, calls).hasCalls()).as("an argument the tool does not have").isFalse();

        String call = "{\"name\": \"get_time\", \"parameters\": {\"city\": \"Oslo\"}}";
        assertThat(ToolCallParser.parse(call + "; " + call, NO_TAG, false, calls).calls()).hasSize(2)
                .allSatisfy(c -> assertThat(c.arguments()).isEqualTo("{\"city\":\"Oslo\"}"));
        assertThat(ToolCallParser.parse("{\"name\": \"get_time\", \"parameters\": {\"city\": \"Os", NO_TAG, true,
                calls).calls()).as("cut").containsExactly(new ToolCallParser.ParsedCall("get_time", "{\"city\": \"Os"));
        assertThat(ToolCallParser.parse(call, NO_TAG, false, ToolCallParser.Calls.of(null, true)).hasCalls())
                .as("no format: unchanged").isTrue();

        OutputConstraint.ToolCallsOrAnswer uncallable = new OutputConstraint.ToolCallsOrAnswer(
                new OutputConstraint.ToolCalls(List.of(new OutputConstraint.Function("get_time", JSON.readTree(
                        "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"minLength\": 3,"
                                + " \"maxLength\": 2}}, \"required\": [\"city\"]}"))), true),
                lookalikeAnswer(true).answer());
        assertThat(ToolCallParser.parse(answer, NO_TAG, false, ToolCallParser.Calls.of(uncallable, true)).content())
                .as("a tool whose parameters allow nothing: every output is the answer").isEqualTo(answer);
    }

    /**
     * After the tag both answers (streamed or not) are in tool mode, so a call's keys may come in any order, as vLLM's
     * llama3_json parser reads them; cut, its name is read wherever it stands.
     */
    @Test
    void afterTheTagACallsKeysMayComeInAnyOrder() {
        ToolCallParser.Calls tools = new ToolCallParser.Calls(java.util.Set.of("get_time"), true);
        String typeFirst = "{\"type\": \"function\", \"name\": \"get_time\", \"parameters\": {\"city\": \"Oslo\"}}";
        ToolCallParser.Result tagged = ToolCallParser.parse("<|python_tag|>" + typeFirst, NO_TAG, false, tools);
        assertThat(tagged.content()).isNull();
        assertThat(tagged.calls()).containsExactly(new ToolCallParser.ParsedCall("get_time", "{\"city\":\"Oslo\"}"));
        assertThat(ToolCallParser.parse("Sure." + "{\"arguments\": {}, \"name\": \"f\"}", "Sure.".length()).calls())
                .containsExactly(new ToolCallParser.ParsedCall("f", "{}"));
        assertThat(ToolCallParser.parse("{\"type\": \"function\", \"name\": \"get_time\", \"parameters\": {\"city\": \"Os",
                0, true).calls()).containsExactly(new ToolCallParser.ParsedCall("get_time", "{\"city\": \"Os"));
        // still a call only with a name and an object of parameters
        assertThat(ToolCallParser.parse("<|python_tag|>{\"type\": \"function\", \"parameters\": {}}", NO_TAG)
                .hasCalls()).isFalse();
    }

    /**
     * A held answer's leading name, as both streaming answers (HTTP's and Spring AI's) ask it: undecided while being
     * written, content once whole and none of the functions', a call otherwise or where any name is a call.
     */
    @Test
    void theLeadingNameReleasesAnAnswerNamingNoFunction() {
        ToolCallParser.Calls tools = new ToolCallParser.Calls(java.util.Set.of("get_time"), true);
        assertThat(tools.leading("{\"name\": \"Ad")).isEqualTo(ToolCallParser.Start.UNDECIDED);
        assertThat(tools.leading("{\"name\": \"Ada\", \"age")).isEqualTo(ToolCallParser.Start.CONTENT);
        assertThat(tools.leading("{\"name\": \"get_time\", \"par")).isEqualTo(ToolCallParser.Start.CALL);
        assertThat(tools.leading("{\"parameters\": {")).as("first key no name: read at the end")
                .isEqualTo(ToolCallParser.Start.CALL);
        assertThat(ToolCallParser.Calls.ANY.leading("{\"name\": \"Ada\", \"age")).isEqualTo(ToolCallParser.Start.CALL);
    }

    /** An answer's finish: cut by the token limit is LENGTH, calls or not; whole calls TOOL_CALLS (HTTP, Spring AI). */
    @Test
    void anAnswersFinishIsLengthWhereCutElseToolCallsForCalls() {
        assertThat(AnswerFinish.of(dev.llamaserve.engine.EngineEvent.FinishReason.LENGTH, true))
                .isEqualTo(AnswerFinish.LENGTH);
        assertThat(AnswerFinish.of(dev.llamaserve.engine.EngineEvent.FinishReason.STOP, true))
                .isEqualTo(AnswerFinish.TOOL_CALLS);
        assertThat(AnswerFinish.of(dev.llamaserve.engine.EngineEvent.FinishReason.STOP, false))
                .isEqualTo(AnswerFinish.STOP);
        assertThat(AnswerFinish.cutOff(dev.llamaserve.engine.EngineEvent.FinishReason.LENGTH)).isTrue();
        assertThat(AnswerFinish.cutOff(dev.llamaserve.engine.EngineEvent.FinishReason.STOP)).isFalse();
    }

    @Test
    void bareJsonCall() {
        ToolCallParser.Result r = ToolCallParser.parse(
                "{\"name\": \"get_current_weather\", \"parameters\": {\"location\": \"San Francisco, CA\", \"unit\": \"celsius\"}}",
                NO_TAG);
        assertThat(r.content()).isNull();
        assertThat(r.calls()).containsExactly(new ToolCallParser.ParsedCall("get_current_weather",
                "{\"location\":\"San Francisco, CA\",\"unit\":\"celsius\"}"));
    }

    @Test
    void callAfterPythonTagTokenOffsetWithTextBefore() {
        String text = "I'll look that up.{\"name\": \"search\", \"parameters\": {\"query\": \"llama\"}}";
        ToolCallParser.Result r = ToolCallParser.parse(text, "I'll look that up.".length());
        assertThat(r.content()).isEqualTo("I'll look that up.");
        assertThat(r.calls()).containsExactly(new ToolCallParser.ParsedCall("search", "{\"query\":\"llama\"}"));
    }

    @Test
    void literalPythonTagInText() {
        ToolCallParser.Result r = ToolCallParser.parse(
                "<|python_tag|>{\"name\": \"f\", \"parameters\": {\"n\": 12345678901234567890.000001}}", NO_TAG);
        assertThat(r.content()).isNull();
        // numbers keep their exact text
        assertThat(r.calls()).containsExactly(new ToolCallParser.ParsedCall("f", "{\"n\":12345678901234567890.000001}"));
    }

    @Test
    void severalCallsSeparatedBySemicolons() {
        ToolCallParser.Result r = ToolCallParser.parse(
                "{\"name\": \"a\", \"parameters\": {\"s\": \"x;}{\\\"\"}}; {\"name\": \"b\", \"arguments\": {\"k\": [1, {\"z\": null}]}}\n",
                NO_TAG);
        assertThat(r.calls()).containsExactly(
                new ToolCallParser.ParsedCall("a", "{\"s\":\"x;}{\\\"\"}"),
                new ToolCallParser.ParsedCall("b", "{\"k\":[1,{\"z\":null}]}"));
    }

    @Test
    void malformedJsonStaysContent() {
        for (String text : List.of(
                "{\"name\": \"f\", \"parameters\": {\"x\": 1}",         // unclosed
                "{\"name\": \"f\", \"parameters\": {\"x\": 1,}}",       // trailing comma
                "{\"name\": \"f\", \"parameters\": \"x=1\"}",           // parameters not an object
                "{\"name\": 3, \"parameters\": {}}",                    // name not a string
                "{\"foo\": \"bar\"}",                                   // JSON but not a call
                "{\"name\": \"f\"}",                                    // no parameters
                "{\"name\": \"f\", \"parameters\": {\"x\": 1e999999999999}}", // number beyond BigDecimal
                "{\"name\": \"f\", \"parameters\": {}} and then text")) { // trailing text
            ToolCallParser.Result r = ToolCallParser.parse(text, NO_TAG);
            assertThat(r.hasCalls()).as(text).isFalse();
            assertThat(r.content()).as(text).isEqualTo(text);
        }
    }

    @Test
    void textThenBareJsonWithoutTagStaysContent() {
        String text = "Here is the call: {\"name\": \"f\", \"parameters\": {}}";
        ToolCallParser.Result r = ToolCallParser.parse(text, NO_TAG);
        assertThat(r.hasCalls()).isFalse();
        assertThat(r.content()).isEqualTo(text);
    }

    @Test
    void taggedButNotJsonStaysContent() {
        String text = "Let me compute.import math\nprint(math.pi)";
        ToolCallParser.Result r = ToolCallParser.parse(text, "Let me compute.".length());
        assertThat(r.hasCalls()).isFalse();
        assertThat(r.content()).isEqualTo(text);
    }

    @Test
    void plainContent() {
        ToolCallParser.Result r = ToolCallParser.parse("The weather in Paris is sunny.", NO_TAG);
        assertThat(r.hasCalls()).isFalse();
        assertThat(r.content()).isEqualTo("The weather in Paris is sunny.");
        assertThat(ToolCallParser.parse("", NO_TAG).content()).isNull();
    }

    @Test
    void leadingWhitespaceBeforeCall() {
        ToolCallParser.Result r = ToolCallParser.parse("\n  {\"name\": \"f\", \"parameters\": {}}", NO_TAG);
        assertThat(r.content()).isNull();
        assertThat(r.calls()).containsExactly(new ToolCallParser.ParsedCall("f", "{}"));
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "[{0}] {1}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            ``                                  | UNDECIDED
            `  `                                | UNDECIDED
            ` {`                                | UNDECIDED
            `{"`                                | UNDECIDED
            `{"na`                              | UNDECIDED
            `{ "param`                          | UNDECIDED
            `{"name`                            | UNDECIDED
            `{"name"`                           | CALL
            `{"parameters": {}, "name"`         | CALL
            `{"arguments"`                      | CALL
            `{ "\\u006Eame"`                    | CALL
            `{"\\u006`                          | UNDECIDED
            `{"\\u0073ummary"`                  | CONTENT
            `{"a\\"b`                           | UNDECIDED
            `{"names"`                          | CONTENT
            `{"nb`                              | CONTENT
            `{"summary": "x"`                   | CONTENT
            `{}`                                | CONTENT
            `Hello`                             | CONTENT
            `[1]`                               | CONTENT
            """)
    void theStartTellsWhetherACallMayFollow(String text, ToolCallParser.Start expected) {
        assertThat(ToolCallParser.start(text)).isEqualTo(expected);
    }
}
