package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.chat.ToolCallParser;
import dev.llamaserve.chat.ToolCallStartTokens;
import dev.llamaserve.engine.EngineEvent;
import org.junit.jupiter.api.Test;

/** The non-streamed answer of a call cut by max_tokens: a partial call and "length", as OpenAI answers it. */
class ChatCompletionCollectorTest {

    private static final ScriptedEngine SCRIPT = new ScriptedEngine(FixtureTokenizer.get());

    private static ChatWire.Choice answer(String text, EngineEvent.FinishReason reason) {
        return answer(text, reason, true);
    }

    private static ChatWire.Choice answer(String text, EngineEvent.FinishReason reason, boolean parallel) {
        ChatCompletionCollector c = new ChatCompletionCollector(new ChatResponses("chatcmpl-1", 7, "m"), true, new ToolCallParser.Calls(null, parallel),
                new ToolCallStartTokens(FixtureTokenizer.get()), null, "req-1");
        c.onTokens(SCRIPT.tokens(text));
        return c.choice(new EngineEvent.Finished(reason, new EngineEvent.Usage(5, 3), "", null, null));
    }

    @Test
    void aCallCutByMaxTokensIsAPartialCallNotTheCallSyntaxAsContent() {
        ChatWire.Choice cut = answer("{\"name\": \"localTime\", \"parameters\": {\"city\": \"Par",
                EngineEvent.FinishReason.LENGTH);
        assertThat(cut.finishReason()).isEqualTo("length");
        assertThat(cut.message().content()).isNull();
        assertThat(cut.message().toolCalls()).hasSize(1);
        assertThat(cut.message().toolCalls().get(0).function().name()).isEqualTo("localTime");
        assertThat(cut.message().toolCalls().get(0).function().arguments()).isEqualTo("{\"city\": \"Par");

        // cut before its name was whole: no call (OpenAI never sends an empty name) and no call syntax as text
        ChatWire.Choice nameless = answer("{\"name\": \"local", EngineEvent.FinishReason.LENGTH);
        assertThat(nameless.finishReason()).isEqualTo("length");
        assertThat(nameless.message().content()).isNull();
        assertThat(nameless.message().toolCalls()).isEmpty();

        ChatWire.Choice whole = answer("{\"name\": \"localTime\", \"parameters\": {\"city\": \"Paris\"}}",
                EngineEvent.FinishReason.STOP);
        assertThat(whole.finishReason()).isEqualTo("tool_calls");
        ChatWire.Choice text = answer("The time in Par", EngineEvent.FinishReason.LENGTH);
        assertThat(text.message().content()).isEqualTo("The time in Par");
        assertThat(text.finishReason()).isEqualTo("length");
    }

    /** tool_choice auto has no grammar that stops at one call: parallel_tool_calls false keeps the first only. */
    @Test
    void withParallelCallsOffOnlyTheFirstCallIsAnswered() {
        String two = "{\"name\": \"localTime\", \"parameters\": {\"city\": \"Oslo\"}}; "
                + "{\"name\": \"localTime\", \"parameters\": {\"city\": \"Paris\"}}";
        assertThat(answer(two, EngineEvent.FinishReason.STOP, true).message().toolCalls()).hasSize(2);
        ChatWire.Choice one = answer(two, EngineEvent.FinishReason.STOP, false);
        assertThat(one.message().toolCalls()).hasSize(1);
        assertThat(one.message().toolCalls().get(0).function().arguments()).isEqualTo("{\"city\":\"Oslo\"}");
        assertThat(one.finishReason()).isEqualTo("tool_calls");
    }

    /** Beside a response_format, an answer naming a tool is the answer where the calls' grammar did not write it. */
    @Test
    void anAnswerThatOnlyLooksLikeACallIsContent() {
        ChatCompletionCollector c = new ChatCompletionCollector(new ChatResponses("chatcmpl-1", 7, "m"), true,
                ToolCallParser.Calls.of(ChatStreamAssemblerTest.lookalikeAnswer(), true),
                new ToolCallStartTokens(FixtureTokenizer.get()), null, "req-1");
        String answer = "{\"name\": \"get_time\", \"parameters\": {\"town\": 7}}";
        c.onTokens(SCRIPT.tokens(answer));
        ChatWire.Choice choice = c.choice(new EngineEvent.Finished(EngineEvent.FinishReason.STOP,
                new EngineEvent.Usage(5, 3), "", null, null));
        assertThat(choice.message().toolCalls()).isNull();
        assertThat(choice.message().content()).isEqualTo(answer);
        assertThat(choice.finishReason()).isEqualTo("stop");
    }
}
