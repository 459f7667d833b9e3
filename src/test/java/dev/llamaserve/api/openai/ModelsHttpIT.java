package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** GET /v1/models and /v1/models/{id} on the real engine (demo checkpoint; context length from the engine). */
class ModelsHttpIT extends RealEngineWebTest {

    @Test
    void listsServedNameAndAliasesWithContextLength() throws Exception {
        HttpResponse<String> r = get("/v1/models");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = OpenAiJson.MAPPER.readTree(r.body());
        assertThat(body.get("object").asString()).isEqualTo("list");
        JsonNode data = body.get("data");
        assertThat(data).hasSize(3);
        assertThat(data.get(0).get("id").asString()).isEqualTo(MODEL);
        assertThat(data.get(1).get("id").asString()).isEqualTo("llama3");
        assertThat(data.get(2).get("id").asString()).isEqualTo("org/demo-alias");
        assertThat(engine.modelInfo().maxModelLen()).isEqualTo(MAX_MODEL_LEN);
        for (JsonNode card : data) {
            assertThat(card.get("object").asString()).isEqualTo("model");
            assertThat(card.get("owned_by").asString()).isEqualTo("llama-serve");
            assertThat(card.get("root").asString()).isEqualTo(MODEL);
            assertThat(card.get("max_model_len").asInt()).isEqualTo(MAX_MODEL_LEN);
            assertThat(card.get("created").asLong()).isPositive();
            assertThat(card.get("llama_serve").get("demo").asBoolean()).as("the demo checkpoint says so").isTrue();
        }
    }

    @Test
    void retrievesIdsWithSlashes() throws Exception {
        HttpResponse<String> r = get("/v1/models/org/demo-alias");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode card = OpenAiJson.MAPPER.readTree(r.body());
        assertThat(card.get("id").asString()).isEqualTo("org/demo-alias");
        assertThat(card.get("max_model_len").asInt()).isEqualTo(MAX_MODEL_LEN);
        assertThat(card.get("llama_serve").get("demo").asBoolean()).isTrue();
        assertThat(get("/v1/models/" + MODEL).statusCode()).isEqualTo(200);
        assertThat(get("/v1/models/org/other").statusCode()).isEqualTo(404);
    }
}
