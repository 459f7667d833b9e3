package dev.llamaserve.springai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.api.openai.ScriptedEngine;
import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.chat.ChatOptions;
import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.OutputConstraint;
import dev.llamaserve.springai.EngineChatOptions.ToolChoice;
import io.micrometer.observation.ObservationRegistry;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.AdvisorParams;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.ToolCallingManager;
import org.springframework.ai.support.ToolCallbacks;
import org.springframework.ai.tool.annotation.Tool;
import org.springframework.ai.tool.annotation.ToolParam;
import reactor.core.publisher.Flux;

/**
 * The adapter inside Spring AI's own machinery ({@code ChatClient}, its {@code ToolCallingAdvisor}, the
 * {@code ToolCallingManager}, {@code BeanOutputConverter}), the chat layer and the fixture's real tokenizer, with
 * the engine scripted: the model's answers are fixed texts (the tool-call wire format), which random weights do not
 * produce. That the engine enforces the constraints the adapter sends is {@code SpringAiToolsIT}'s part.
 */
class EngineChatModelToolsTest {

    private static final LlamaTokenizer TOKENIZER = tokenizer();

    private final ScriptedEngine engine = new ScriptedEngine(TOKENIZER);
    private final EngineChatModel model = new EngineChatModel(engine,
            new ChatFormat(TOKENIZER, new ChatOptions(ChatOptions.DEFAULT_DATE, false, 256, ChatOptions.Enabled.TRUE)),
            "m", EngineChatOptions.builder().build(), ToolCallingManager.builder().build());

    private static LlamaTokenizer tokenizer() {
        try {
            return LlamaTokenizer.load(Path.of(EngineChatModelToolsTest.class.getResource("/fixtures/tiny-llama31").toURI()));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static final class WeatherTools {
        final List<String> cities = new CopyOnWriteArrayList<>();

        @Tool(description = "The current weather in a city")
        String currentWeather(@ToolParam(description = "the city") String city) {
            cities.add(city);
            return "sunny in " + city;
        }

        @Tool(description = "The local time in a city")
        String localTime(@ToolParam(description = "the city") String city) {
            cities.add("time:" + city);
            return "noon in " + city;
        }
    }

    record Weather(String city, int temperature) {}

    /** First request: {@code first}'s pieces; every later one: {@code then}. */
    private void script(List<EngineEvent> first, String then) {
        engine.script = r -> engine.submitted.size() == 1
                ? Flux.fromIterable(first).concatWith(Flux.just(engine.finished(r, EngineEvent.FinishReason.STOP, 9)))
                : engine.text(r, then);
    }

    @Test
    void aNamedToolChoiceIsConstrainedAndSpringAisLoopRunsTheToolAndCallsAgain() {
        script(List.of(engine.tokens("{\"name\": \"currentWeather\", "), engine.tokens("\"parameters\": {\"city\": \"Paris\"}}")),
                "It is sunny.");
        WeatherTools tools = new WeatherTools();
        ChatResponse response = ChatClient.create(model).prompt().user("Weather in Paris?").tools(tools)
                .options(EngineChatOptions.builder().toolChoice(ToolChoice.function("currentWeather")))
                .call().chatResponse();

        assertThat(response.getResult().getOutput().getText()).isEqualTo("It is sunny.");
        assertThat(response.getResult().getMetadata().getFinishReason()).isEqualTo("STOP");
        assertThat(tools.cities).containsExactly("Paris");
        assertThat(engine.submitted).hasSize(2);
        // the first turn shows both tools and forces a call of the named one, arguments per its input schema
        assertThat(engine.promptText(0)).contains("currentWeather").contains("localTime").contains("the city");
        OutputConstraint.ToolCalls forced = (OutputConstraint.ToolCalls) engine.submitted.get(0).params().constraint();
        assertThat(forced.functions()).extracting(OutputConstraint.Function::name).containsExactly("currentWeather");
        assertThat(forced.functions().get(0).parameters().get("properties").get("city").get("type").asString())
                .isEqualTo("string");
        assertThat(forced.parallel()).isFalse();
        // the second turn carries the call and its result, and answers freely
        assertThat(engine.promptText(1)).contains("\"name\": \"currentWeather\"").contains("sunny in Paris");
        assertThat(engine.submitted.get(1).params().constraint()).isNull();
    }

    @Test
    void aCallAfterThePythonTagTokenIsACallAndRequiredOffersEveryTool() {
        script(List.of(engine.pythonTagToken(), engine.tokens("{\"name\": \"localTime\", \"parameters\": {\"city\": \"Oslo\"}}")),
                "Noon.");
        WeatherTools tools = new WeatherTools();
        String answer = ChatClient.create(model).prompt().user("Time in Oslo?").tools(tools)
                .options(EngineChatOptions.builder().toolChoice(ToolChoice.REQUIRED)).call().content();
        assertThat(answer).isEqualTo("Noon.");
        assertThat(tools.cities).containsExactly("time:Oslo");
        OutputConstraint.ToolCalls forced = (OutputConstraint.ToolCalls) engine.submitted.get(0).params().constraint();
        assertThat(forced.functions()).extracting(OutputConstraint.Function::name)
                .containsExactlyInAnyOrder("currentWeather", "localTime");
    }

    /** After the tag a call's keys may come in any order ("type" first), called and streamed, as over HTTP. */
    @Test
    void aCallAfterThePythonTagTokenMayPutItsKeysInAnyOrder() {
        engine.script = r -> Flux.just(engine.pythonTagToken(),
                engine.tokens("{\"type\": \"function\", \"name\": \"localTime\", \"parameters\": {\"city\": \"Oslo\"}}"),
                engine.finished(r, EngineEvent.FinishReason.STOP, 9));
        Prompt prompt = new Prompt("Time in Oslo?", EngineChatOptions.builder()
                .toolCallbacks(ToolCallbacks.from(new WeatherTools())).build());
        ChatResponse called = model.call(prompt);
        assertThat(called.getResult().getMetadata().getFinishReason()).isEqualTo("TOOL_CALLS");
        assertThat(called.getResult().getOutput().getToolCalls()).singleElement().satisfies(c -> {
            assertThat(c.name()).isEqualTo("localTime");
            assertThat(c.arguments()).isEqualTo("{\"city\":\"Oslo\"}");
        });
        List<ChatResponse> streamed = model.stream(prompt).collectList().block(Duration.ofSeconds(30));
        assertThat(streamed).allSatisfy(r -> assertThat(r.getResult().getOutput().getText()).doesNotContain("{"));
        assertThat(streamed.get(streamed.size() - 1).getResult().getOutput().getToolCalls())
                .extracting(AssistantMessage.ToolCall::name).containsExactly("localTime");
    }

    @Test
    void parallelCallsAllRunAndGoBackAsCallResultPairs() {
        script(List.of(engine.tokens("{\"name\": \"currentWeather\", \"parameters\": {\"city\": \"Rome\"}}; "
                + "{\"name\": \"localTime\", \"parameters\": {\"city\": \"Rome\"}}")), "Sunny, noon.");
        WeatherTools tools = new WeatherTools();
        String answer = ChatClient.create(model).prompt().user("Rome?").tools(tools)
                .options(EngineChatOptions.builder().toolChoice(ToolChoice.REQUIRED).parallelToolCalls(true))
                .call().content();
        assertThat(answer).isEqualTo("Sunny, noon.");
        assertThat(tools.cities).containsExactly("Rome", "time:Rome");
        assertThat(((OutputConstraint.ToolCalls) engine.submitted.get(0).params().constraint()).parallel()).isTrue();
        String second = engine.promptText(1);
        int sunny = second.indexOf("sunny in Rome");
        assertThat(sunny).isPositive();
        assertThat(second.indexOf("\"name\": \"localTime\"", sunny)).isBetween(sunny, second.indexOf("noon in Rome"));
    }

    @Test
    void withAutoAndParallelCallsOffOnlyTheModelsFirstCallRuns() {
        script(List.of(engine.tokens("{\"name\": \"currentWeather\", \"parameters\": {\"city\": \"Rome\"}}; "
                + "{\"name\": \"localTime\", \"parameters\": {\"city\": \"Rome\"}}")), "Sunny.");
        WeatherTools tools = new WeatherTools();
        String answer = ChatClient.create(model).prompt().user("Rome?").tools(tools)
                .options(EngineChatOptions.builder().parallelToolCalls(false)).call().content();
        assertThat(answer).isEqualTo("Sunny.");
        assertThat(tools.cities).containsExactly("Rome");
        assertThat(engine.submitted.get(0).params().constraint()).as("auto: no grammar").isNull();
    }

    @Test
    void streamingRunsTheToolAndStreamsTheFinalAnswer() {
        script(List.of(engine.tokens("{\"name\": \"currentWeather\", "), engine.tokens("\"parameters\": {\"city\": \"Lima\"}}")),
                "Sunny");
        WeatherTools tools = new WeatherTools();
        List<String> parts = ChatClient.create(model).prompt().user("Lima?").tools(tools)
                .options(EngineChatOptions.builder().toolChoice(ToolChoice.function("currentWeather")))
                .stream().content().collectList().block(Duration.ofSeconds(30));
        assertThat(String.join("", parts)).isEqualTo("Sunny");
        assertThat(tools.cities).containsExactly("Lima");
        assertThat(engine.submitted).hasSize(2);
    }

    @Test
    void withToolsPlainTextStaysContentAndAutoAddsNoConstraint() {
        engine.script = r -> engine.text(r, "Hello", " there");
        WeatherTools tools = new WeatherTools();
        List<String> parts = ChatClient.create(model).prompt().user("Hi").tools(tools).stream().content()
                .collectList().block(Duration.ofSeconds(30));
        assertThat(String.join("", parts)).isEqualTo("Hello there");
        assertThat(tools.cities).isEmpty();
        assertThat(engine.submitted.get(0).params().constraint()).isNull();
        assertThat(engine.promptText(0)).contains("currentWeather");
    }

    /** Blank text before a tag that starts no call is the answer's, streamed or not (the HTTP API's rule). */
    @Test
    void blankTextBeforeATagThatStartsNoCallStaysInTheAnswer() {
        engine.script = r -> Flux.just(engine.tokens("\n"), engine.pythonTagToken(), engine.tokens("\n"),
                engine.finished(r, EngineEvent.FinishReason.LENGTH, 3));
        WeatherTools tools = new WeatherTools();
        String called = ChatClient.create(model).prompt().user("Hi").tools(tools).call().content();
        List<String> parts = ChatClient.create(model).prompt().user("Hi").tools(tools).stream().content()
                .collectList().block(Duration.ofSeconds(30));
        assertThat(called).isEqualTo("\n\n");
        assertThat(String.join("", parts)).isEqualTo("\n\n");
        assertThat(tools.cities).isEmpty();
    }

    @Test
    void toolChoiceNoneHidesTheTools() {
        engine.script = r -> engine.text(r, "{\"name\": \"currentWeather\", \"parameters\": {\"city\": \"Paris\"}}");
        WeatherTools tools = new WeatherTools();
        String answer = ChatClient.create(model).prompt().user("Hi").tools(tools)
                .options(EngineChatOptions.builder().toolChoice(ToolChoice.NONE)).call().content();
        assertThat(answer).startsWith("{\"name\"");
        assertThat(tools.cities).isEmpty();
        assertThat(engine.promptText(0)).doesNotContain("currentWeather");
    }

    @Test
    void aForcedChoiceWithoutItsToolIsRefused() {
        assertThatThrownBy(() -> ChatClient.create(model).prompt().user("Hi").tools(new WeatherTools())
                .options(EngineChatOptions.builder().toolChoice(ToolChoice.function("nope"))).call().content())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nope");
        assertThatThrownBy(() -> ChatClient.create(model).prompt().user("Hi")
                .options(EngineChatOptions.builder().toolChoice(ToolChoice.REQUIRED)).call().content())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one tool");
        assertThat(engine.submitted).isEmpty();
    }

    @Test
    void nativeStructuredOutputSendsTheEntitySchemaAsTheConstraint() {
        engine.script = r -> engine.text(r, "{\"city\": \"Paris\", ", "\"temperature\": 21}");
        Weather w = ChatClient.builder(model).defaultAdvisors(AdvisorParams.ENABLE_NATIVE_STRUCTURED_OUTPUT).build()
                .prompt().user("Weather in Paris?").options(EngineChatOptions.builder().seed(7L))
                .call().entity(Weather.class);
        assertThat(w).isEqualTo(new Weather("Paris", 21));
        OutputConstraint.JsonSchema schema = (OutputConstraint.JsonSchema) engine.submitted.get(0).params().constraint();
        assertThat(schema.schema().get("properties").get("temperature").get("type").asString()).isEqualTo("integer");
        assertThat(engine.submitted.get(0).params().seed()).isEqualTo(7L);
        // the schema is an engine constraint, not format instructions in the prompt
        assertThat(engine.promptText(0)).doesNotContain("JSON Schema");
    }

    /** The scripted model calls {@code tool} for {@code city}, then answers with the entity's document. */
    private Weather callThenEntity(WeatherTools tools, String tool, String city, int temperature,
            EngineChatOptions.Builder options) {
        script(List.of(engine.tokens("{\"name\": \"" + tool + "\", \"parameters\": {\"city\": \"" + city + "\"}}")),
                "{\"city\": \"" + city + "\", \"temperature\": " + temperature + "}");
        return ChatClient.builder(model).defaultAdvisors(AdvisorParams.ENABLE_NATIVE_STRUCTURED_OUTPUT).build()
                .prompt().user(city + "?").tools(tools).options(options).call().entity(Weather.class);
    }

    @Test
    void aForcedToolTurnThenTheEntitySchema() {
        WeatherTools tools = new WeatherTools();
        Weather w = callThenEntity(tools, "localTime", "Rome", 30,
                EngineChatOptions.builder().toolChoice(ToolChoice.function("localTime")));
        assertThat(w).isEqualTo(new Weather("Rome", 30));
        assertThat(tools.cities).containsExactly("time:Rome");
        assertThat(engine.submitted.get(0).params().constraint()).isInstanceOf(OutputConstraint.ToolCalls.class);
        assertThat(engine.submitted.get(1).params().constraint()).isInstanceOf(OutputConstraint.JsonSchema.class);
    }

    /** AUTO with tools and an entity: the model may call a tool first, and its answer is the entity's document. */
    @Test
    void autoWithAnEntityMayCallToolsThenAnswersInTheEntitysSchema() {
        WeatherTools tools = new WeatherTools();
        Weather w = callThenEntity(tools, "currentWeather", "Oslo", 4, EngineChatOptions.builder());
        assertThat(w).isEqualTo(new Weather("Oslo", 4));
        assertThat(tools.cities).containsExactly("Oslo");
        for (int i = 0; i < 2; i++) {
            assertThat(engine.submitted.get(i).params().constraint()).as("request %d", i)
                    .isInstanceOfSatisfying(OutputConstraint.ToolCallsOrAnswer.class, o -> {
                        assertThat(o.calls().functions()).extracting(OutputConstraint.Function::name)
                                .containsExactlyInAnyOrder("currentWeather", "localTime");
                        assertThat(((OutputConstraint.JsonSchema) o.answer()).schema().get("properties").has("city"))
                                .isTrue();
                    });
        }
    }

    /**
     * A forced call cut by maxTokens is a partial call with finish reason LENGTH, called and streamed, as over HTTP
     * ({@code ChatCompletionCollectorTest}, {@code ChatStreamAssemblerTest}): never the model's call syntax as the
     * answer's text. The model is asked directly, as Spring AI's tool loop would run the partial call.
     */
    @Test
    void aForcedCallCutByMaxTokensIsAPartialCallWithFinishReasonLength() {
        engine.script = r -> Flux.just(engine.tokens("{\"name\": \"currentWeather\", "),
                engine.tokens("\"parameters\": {\"city\": \"Par"),
                engine.finished(r, EngineEvent.FinishReason.LENGTH, 8));
        Prompt prompt = new Prompt("Weather in Paris?", EngineChatOptions.builder()
                .toolCallbacks(ToolCallbacks.from(new WeatherTools())).toolChoice(ToolChoice.function("currentWeather"))
                .maxTokens(8).build());

        ChatResponse called = model.call(prompt);
        assertThat(called.getResult().getMetadata().getFinishReason()).isEqualTo("LENGTH");
        AssistantMessage message = called.getResult().getOutput();
        assertThat(message.getText()).as("no call syntax as text; empty, as streamed and as OpenAiChatModel").isEmpty();
        assertThat(message.getToolCalls()).singleElement().satisfies(c -> {
            assertThat(c.name()).isEqualTo("currentWeather");
            assertThat(c.arguments()).isEqualTo("{\"city\": \"Par");
        });

        List<ChatResponse> streamed = model.stream(prompt).collectList().block(Duration.ofSeconds(30));
        assertThat(streamed).allSatisfy(r -> assertThat(r.getResult().getOutput().getText()).doesNotContain("{"));
        ChatResponse last = streamed.get(streamed.size() - 1);
        assertThat(last.getResult().getMetadata().getFinishReason()).isEqualTo("LENGTH");
        assertThat(last.getResult().getOutput().getToolCalls()).singleElement().satisfies(c -> {
            assertThat(c.name()).isEqualTo("currentWeather");
            assertThat(c.arguments()).isEqualTo("{\"city\": \"Par");
        });
        // cut before its name was whole: no call (none has the empty name) and no call syntax as text, LENGTH
        engine.script = r -> Flux.just(engine.tokens("{\"name\": \"currentWea"),
                engine.finished(r, EngineEvent.FinishReason.LENGTH, 8));
        ChatResponse nameless = model.call(prompt);
        assertThat(nameless.getResult().getMetadata().getFinishReason()).isEqualTo("LENGTH");
        assertThat(nameless.getResult().getOutput().getToolCalls()).isEmpty();
        assertThat(nameless.getResult().getOutput().getText()).isEmpty();
        List<ChatResponse> streamedNameless = model.stream(prompt).collectList().block(Duration.ofSeconds(30));
        assertThat(streamedNameless).allSatisfy(r -> {
            assertThat(r.getResult().getOutput().getToolCalls()).isEmpty();
            assertThat(r.getResult().getOutput().getText()).isEmpty();
        });
        assertThat(streamedNameless.get(streamedNameless.size() - 1).getResult().getMetadata().getFinishReason())
                .isEqualTo("LENGTH");
        // a whole call still ends TOOL_CALLS, and cut text with no call LENGTH
        engine.script = r -> engine.text(r, "{\"name\": \"currentWeather\", \"parameters\": {\"city\": \"Paris\"}}");
        assertThat(model.call(prompt).getResult().getMetadata().getFinishReason()).isEqualTo("TOOL_CALLS");
        engine.script = r -> Flux.just(engine.tokens("The weather in Par"),
                engine.finished(r, EngineEvent.FinishReason.LENGTH, 5));
        ChatResponse text = model.call(new Prompt("Weather in Paris?", EngineChatOptions.builder()
                .toolCallbacks(ToolCallbacks.from(new WeatherTools())).maxTokens(5).build()));
        assertThat(text.getResult().getOutput().getText()).isEqualTo("The weather in Par");
        assertThat(text.getResult().getMetadata().getFinishReason()).isEqualTo("LENGTH");
    }

    record Person(String name, int age) {}

    /**
     * AUTO with tools and an entity whose first key is "name": an answer whose name is none of the tools' streams
     * once its name is whole, not all at its end, as over HTTP ({@code ChatStreamAssemblerTest}). The scripted model
     * never finishes: the text must come before any end.
     */
    @Test
    void anEntityAnswerNamingNoToolStreamsOnceItsNameIsWhole() {
        engine.script = r -> Flux.<EngineEvent>just(engine.tokens("{\"name\": \"Ad"), engine.tokens("a\", \"age"))
                .concatWith(Flux.never());
        Prompt prompt = new Prompt("Who?", EngineChatOptions.builder()
                .toolCallbacks(ToolCallbacks.from(new WeatherTools()))
                .outputSchema("{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}, "
                        + "\"age\": {\"type\": \"integer\"}}, \"required\": [\"name\", \"age\"]}")
                .build());
        String first = model.stream(prompt).map(r -> r.getResult().getOutput().getText())
                .filter(t -> t != null && !t.isEmpty()).blockFirst(Duration.ofSeconds(10));
        assertThat(first).isEqualTo("{\"name\": \"Ada\", \"age");
        assertThat(engine.submitted.get(0).params().constraint())
                .isInstanceOf(OutputConstraint.ToolCallsOrAnswer.class);
    }

    /**
     * AUTO with tools and an entity with "name" and free-form "parameters": an answer that names a tool, its parameters
     * none the tool's schema allows (the calls' grammar did not write it), is the answer, called and streamed, as over
     * HTTP; the tool is not run with them.
     */
    @Test
    void anEntityAnswerThatNamesAToolIsTheAnswerWhereTheCallsGrammarDidNotWriteIt() {
        String answer = "{\"name\": \"currentWeather\", \"parameters\": {\"town\": \"Oslo\"}}";
        engine.script = r -> engine.promptText(engine.submitted.indexOf(r)).contains("sunny in")
                ? engine.text(r, "A tool ran.")
                : engine.text(r, "{\"name\": \"currentWeather\", ", "\"parameters\": {\"town\": \"Oslo\"}}");
        WeatherTools tools = new WeatherTools();
        Prompt prompt = new Prompt("Which tool?", EngineChatOptions.builder()
                .toolCallbacks(ToolCallbacks.from(tools))
                .outputSchema("{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}, "
                        + "\"parameters\": {\"type\": \"object\"}}, \"required\": [\"name\", \"parameters\"]}")
                .build());

        ChatResponse called = model.call(prompt);
        assertThat(called.getResult().getOutput().getText()).isEqualTo(answer);
        assertThat(called.getResult().getOutput().getToolCalls()).isEmpty();
        assertThat(called.getResult().getMetadata().getFinishReason()).isEqualTo("STOP");
        List<ChatResponse> streamed = model.stream(prompt).collectList().block(Duration.ofSeconds(30));
        assertThat(streamed.stream().map(r -> r.getResult().getOutput().getText())
                .filter(java.util.Objects::nonNull).collect(java.util.stream.Collectors.joining())).isEqualTo(answer);
        assertThat(streamed).allSatisfy(r -> assertThat(r.getResult().getOutput().getToolCalls()).isEmpty());
        assertThat(tools.cities).isEmpty();
        assertThat(engine.submitted).hasSize(2);
        assertThat(engine.submitted.get(0).params().constraint())
                .isInstanceOf(OutputConstraint.ToolCallsOrAnswer.class);
    }

    /** The constraint a first turn with {@code options} (and the WeatherTools) sends the engine. */
    private OutputConstraint firstTurnConstraint(EngineChatOptions.Builder options) {
        engine.reset();
        engine.script = r -> engine.text(r, "{\"name\": \"currentWeather\", \"parameters\": {\"city\": \"Rome\"}}");
        model.call(new Prompt("Rome?", options.toolCallbacks(ToolCallbacks.from(new WeatherTools())).build()));
        return engine.submitted.get(0).params().constraint();
    }

    /**
     * parallelToolCalls as over HTTP ({@code ConstraintParser}): unset means several calls (OpenAI's default), false
     * one, and a named function exactly one whatever it says; the grammar and the parser agree.
     */
    @Test
    void parallelToolCallsDefaultToSeveralAndANamedFunctionIsExactlyOneCall() {
        String schema = "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}";
        assertThat(((OutputConstraint.ToolCallsOrAnswer) firstTurnConstraint(EngineChatOptions.builder()
                .outputSchema(schema))).calls().parallel()).as("AUTO beside an entity, unset").isTrue();
        assertThat(((OutputConstraint.ToolCallsOrAnswer) firstTurnConstraint(EngineChatOptions.builder()
                .outputSchema(schema).parallelToolCalls(false))).calls().parallel()).as("AUTO, false").isFalse();
        assertThat(((OutputConstraint.ToolCalls) firstTurnConstraint(EngineChatOptions.builder()
                .toolChoice(ToolChoice.REQUIRED))).parallel()).as("REQUIRED, unset").isTrue();
        assertThat(((OutputConstraint.ToolCalls) firstTurnConstraint(EngineChatOptions.builder()
                .toolChoice(ToolChoice.REQUIRED).parallelToolCalls(false))).parallel()).as("REQUIRED, false").isFalse();
        assertThat(((OutputConstraint.ToolCalls) firstTurnConstraint(EngineChatOptions.builder()
                .toolChoice(ToolChoice.function("currentWeather")).parallelToolCalls(true))).parallel())
                .as("a named function, true").isFalse();

        // AUTO beside an entity, unset: the model's several calls all come back, as its grammar allowed them
        engine.reset();
        engine.script = r -> engine.text(r, "{\"name\": \"currentWeather\", \"parameters\": {\"city\": \"Rome\"}}; "
                + "{\"name\": \"localTime\", \"parameters\": {\"city\": \"Rome\"}}");
        ChatResponse both = model.call(new Prompt("Rome?", EngineChatOptions.builder().outputSchema(schema)
                .toolCallbacks(ToolCallbacks.from(new WeatherTools())).build()));
        assertThat(both.getResult().getOutput().getToolCalls()).extracting(AssistantMessage.ToolCall::name)
                .containsExactly("currentWeather", "localTime");
    }

    /** Shutdown aborts a request: an error, as over HTTP (503 aborted), not a cut-off answer or a partial call. */
    @Test
    void aRequestTheEngineAbortedIsAnErrorNotACutOffAnswer() {
        engine.script = r -> Flux.just(engine.tokens("{\"name\": \"currentWeather\", \"param"),
                engine.finished(r, EngineEvent.FinishReason.ABORT, 9));
        assertThatThrownBy(() -> ChatClient.create(model).prompt().user("Oslo?").tools(new WeatherTools()).call()
                .content()).hasMessageContaining("aborted");
        assertThatThrownBy(() -> ChatClient.create(model).prompt().user("Oslo?").stream().content().collectList()
                .block()).hasMessageContaining("aborted");
    }

    /** Every response, and every streamed chunk, carries the request's id (ChatResponseMetadata.getId()). */
    @Test
    void responsesCarryTheRequestsId() {
        engine.script = r -> engine.text(r, "Hel", "lo");
        ChatResponse whole = model.call(new org.springframework.ai.chat.prompt.Prompt("Hi"));
        assertThat(whole.getMetadata().getId()).startsWith("chatcmpl-")
                .isEqualTo(engine.submitted.get(0).requestId());
        List<ChatResponse> chunks = model.stream(new org.springframework.ai.chat.prompt.Prompt("Hi")).collectList().block();
        assertThat(chunks).isNotEmpty().allSatisfy(c -> assertThat(c.getMetadata().getId())
                .isEqualTo(engine.submitted.get(1).requestId()));
    }

    /** The chat format (there once the model is loaded) is asked for at the first request, not at creation. */
    @Test
    void theChatFormatIsAskedForAtTheFirstRequest() {
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        EngineChatModel loading = new EngineChatModel(engine, () -> {
            asked.incrementAndGet();
            throw new IllegalStateException("still loading (test)");
        }, "m", EngineChatOptions.builder().build(), ToolCallingManager.builder().build(), ObservationRegistry.NOOP);
        ChatClient client = ChatClient.builder(loading).build();
        assertThat(asked).as("creating the model and a client asks nothing").hasValue(0);
        assertThatThrownBy(() -> client.prompt().user("Hi").call().content()).hasMessageContaining("still loading");
        assertThat(asked).hasValue(1);
    }

    /** Text only, as over HTTP: a user message's media is refused, never dropped. */
    @Test
    void mediaOnAUserMessageIsRefusedNotDropped() {
        engine.script = r -> engine.text(r, "a cat");
        org.springframework.ai.content.Media png = new org.springframework.ai.content.Media(
                org.springframework.util.MimeTypeUtils.IMAGE_PNG, new org.springframework.core.io.ByteArrayResource(
                        new byte[] {1, 2, 3}));
        assertThatThrownBy(() -> ChatClient.create(model).prompt().user(u -> u.text("What is this?").media(png))
                .call().content()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1 media (image/png): this model takes text only");
        assertThat(engine.submitted).as("nothing was generated").isEmpty();
    }

    @Test
    void withoutNativeStructuredOutputTheSchemaIsOnlyPromptText() {
        engine.script = r -> engine.text(r, "{\"city\": \"Paris\", \"temperature\": 21}");
        Weather w = ChatClient.create(model).prompt().user("Weather in Paris?").call().entity(Weather.class);
        assertThat(w).isEqualTo(new Weather("Paris", 21));
        assertThat(engine.submitted.get(0).params().constraint()).isNull();
        assertThat(engine.promptText(0)).contains("JSON Schema");
    }

    @Test
    void optionsMergeAsChatClientMergesThem() {
        EngineChatOptions defaults = EngineChatOptions.builder().temperature(0.2).seed(1L)
                .toolChoice(ToolChoice.REQUIRED).build();
        EngineChatOptions merged = defaults.mutate()
                .combineWith(EngineChatOptions.builder().seed(2L).outputSchema("{\"type\":\"object\"}")).build();
        assertThat(merged.getTemperature()).isEqualTo(0.2);
        assertThat(merged.getSeed()).isEqualTo(2L);
        assertThat(merged.getToolChoice()).isEqualTo(ToolChoice.REQUIRED);
        assertThat(merged.getOutputSchema()).isEqualTo("{\"type\":\"object\"}");
        assertThat(merged.mutate().build()).isEqualTo(merged);
        // a plain Spring AI builder sets the common options only
        EngineChatOptions plain = defaults.mutate()
                .combineWith(org.springframework.ai.chat.prompt.ChatOptions.builder().temperature(0.9)).build();
        assertThat(plain.getTemperature()).isEqualTo(0.9);
        assertThat(plain.getSeed()).isEqualTo(1L);
        assertThat(model.getOptions()).isInstanceOf(EngineChatOptions.class);
    }
}
