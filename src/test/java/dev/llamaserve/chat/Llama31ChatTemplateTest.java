package dev.llamaserve.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/** Every conversation of reference-outputs.json renders byte for byte as transformers renders it. */
class Llama31ChatTemplateTest {

    private final ChatRequestParser parser = new ChatRequestParser(256);
    private final Llama31ChatTemplate template = new Llama31ChatTemplate();

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : TinyLlamaFixture.reference().get("chat_template").values()) {
            out.add(Arguments.of(c.get("name").stringValue(), c));
        }
        assertThat(out).hasSizeGreaterThanOrEqualTo(8);
        return out.stream();
    }

    /** The request's chat_template_kwargs for a fixture case. */
    static JsonNode kwargs(JsonNode c) {
        ObjectNode kwargs = ChatJson.MAPPER.createObjectNode();
        if (c.has("date_string")) {
            kwargs.put("date_string", c.get("date_string").stringValue());
        }
        return kwargs;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rendersFixtureConversationByteForByte(String name, JsonNode c) {
        Conversation conversation = parser.parse(c.get("messages"), c.get("tools"));
        TemplateArgs args = TemplateArgs.parse(kwargs(c), c.get("add_generation_prompt").booleanValue(), "26 Jul 2024");
        String rendered = template.render(conversation, args).text();
        assertThat(rendered).isEqualTo(c.get("rendered").stringValue());
    }

    @Test
    void coversTheQuirksTheFixtureNames() {
        List<String> names = cases().map(a -> (String) a.get()[0]).toList();
        assertThat(names).contains("user_only", "system_user", "multi_turn", "no_generation_prompt", "custom_date",
                "tools_in_user_message", "tools_json_formatting", "tool_call_and_result");
    }
}
