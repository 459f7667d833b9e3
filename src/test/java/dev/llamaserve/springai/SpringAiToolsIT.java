package dev.llamaserve.springai;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.llamaserve.api.openai.RealEngineWebTest;
import dev.llamaserve.springai.EngineChatOptions.ToolChoice;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.support.ToolCallbacks;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.tool.annotation.Tool;
import org.springframework.ai.tool.annotation.ToolParam;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * Tools and structured output through {@link ChatClient} on the REAL engine with the demo checkpoint's random
 * weights (the shared context of {@link RealEngineWebTest}): random weights wander wherever the grammar lets them,
 * so every tool call and entity here exists only because the engine enforces the constraint the adapter sends.
 * Temperature 1.0 and several seeds. The tools' and records' parameters are enums, numbers and booleans, which the
 * grammar keeps short (a free string from random weights rarely ends within a test's token budget).
 */
class SpringAiToolsIT extends RealEngineWebTest {

    private static final SchemaRegistry SCHEMAS = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private static final List<Long> SEEDS = List.of(1L, 2L, 3L);
    /** Enough for any forecast call the grammar allows (a long has at most 15 digits there). */
    private static final int CALL_TOKENS = 200;
    /** Enough for a localTime call; also the budget of the free answer after it. */
    private static final int SHORT_CALL_TOKENS = 160;

    @Autowired
    ChatModel chatModel;

    @Autowired
    ChatClient.Builder chatClientBuilder;

    enum City { PARIS, ROME, OSLO }

    static final class WeatherTools {
        final List<String> calls = new CopyOnWriteArrayList<>();

        @Tool(description = "The weather forecast for a city")
        String forecast(@ToolParam(description = "the city") City city, @ToolParam(description = "days ahead") long days,
                @ToolParam(description = "whether to include wind") boolean wind) {
            calls.add(city + "/" + days + "/" + wind);
            return "sunny in " + city;
        }

        @Tool(description = "The local time in a city")
        String localTime(@ToolParam(description = "the city") City city) {
            calls.add("time/" + city);
            return "noon in " + city;
        }
    }

    record Forecast(City city, long days, boolean rain, List<City> alternatives) {}

    private static EngineChatOptions.Builder sampled(long seed, int maxTokens) {
        return EngineChatOptions.builder().temperature(1.0).topP(1.0).seed(seed).maxTokens(maxTokens);
    }

    /**
     * The model alone (no tool loop): a forced call (named, or required among both tools) names a given tool and
     * its arguments are valid against that tool's input schema (networknt's validator).
     */
    @Test
    void forcedCallsHaveSchemaValidArguments() {
        WeatherTools tools = new WeatherTools();
        ToolCallback[] callbacks = ToolCallbacks.from(tools);
        for (long seed : SEEDS) {
            ToolChoice choice = seed % 2 == 0 ? ToolChoice.REQUIRED : ToolChoice.function("forecast");
            ChatResponse r = chatModel.call(new Prompt("Weather in Paris?",
                    sampled(seed, CALL_TOKENS).toolCallbacks(callbacks).toolChoice(choice).build()));
            AssistantMessage out = r.getResult().getOutput();
            assertThat(out.getToolCalls()).as("seed %d, %s: %s", seed, choice, out.getText()).hasSize(1);
            assertThat(r.getResult().getMetadata().getFinishReason()).isEqualTo("TOOL_CALLS");
            AssistantMessage.ToolCall call = out.getToolCalls().get(0);
            if (choice.function() != null) {
                assertThat(call.name()).isEqualTo("forecast");
            }
            ToolCallback tool = List.of(callbacks).stream()
                    .filter(c -> c.getToolDefinition().name().equals(call.name())).findFirst().orElseThrow();
            assertThat(SCHEMAS.getSchema(tool.getToolDefinition().inputSchema(), InputFormat.JSON)
                    .validate(call.arguments(), InputFormat.JSON)).as("%s %s", call.name(), call.arguments()).isEmpty();
        }
        assertThat(tools.calls).as("the model alone runs no tool").isEmpty();
    }

    @Test
    void springAisLoopRunsTheToolAndTheFinalAnswerComesBack() {
        for (long seed : List.of(1L)) {
            WeatherTools tools = new WeatherTools();
            ChatResponse response = chatClientBuilder.build().prompt().user("Time in Paris?").tools(tools)
                    .options(sampled(seed, SHORT_CALL_TOKENS).toolChoice(ToolChoice.function("localTime")))
                    .call().chatResponse();
            assertThat(tools.calls).as("seed %d", seed).hasSize(1);
            assertThat(tools.calls.get(0)).matches("time/(PARIS|ROME|OSLO)");
            assertThat(response.getResult().getOutput().getToolCalls()).isEmpty();
            assertThat(response.getResult().getOutput().getText()).isNotNull();
            assertThat(response.getResult().getMetadata().getFinishReason()).isIn("STOP", "LENGTH");
        }
    }

    @Test
    void streamingRunsTheToolAndStreamsTheFinalAnswer() {
        for (long seed : List.of(3L)) {
            WeatherTools tools = new WeatherTools();
            List<String> parts = chatClientBuilder.build().prompt().user("Time in Oslo?").tools(tools)
                    .options(sampled(seed, SHORT_CALL_TOKENS).toolChoice(ToolChoice.function("localTime")))
                    .stream().content().collectList().block(Duration.ofSeconds(600));
            assertThat(tools.calls).as("seed %d", seed).hasSize(1);
            assertThat(tools.calls.get(0)).matches("time/(PARIS|ROME|OSLO)");
            assertThat(parts).isNotNull();
            assertThat(String.join("", parts)).doesNotContain("\"parameters\"");
        }
    }

    @Test
    void entityReturnsAParsedRecordForEverySeed() {
        for (long seed : SEEDS) {
            Forecast f = chatClientBuilder.build().prompt().user("Forecast for Paris as JSON.")
                    .options(sampled(seed, CALL_TOKENS)).call().entity(Forecast.class);
            assertThat(f).as("seed %d", seed).isNotNull();
            assertThat(f.city()).isNotNull();
            assertThat(f.alternatives()).doesNotContainNull();
        }
    }
}
