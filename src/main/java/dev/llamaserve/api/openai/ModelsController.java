package dev.llamaserve.api.openai;

import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.ModelInfo;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * {@code GET /v1/models} and {@code GET /v1/models/{id}}: the served name and its aliases, each with the
 * context length ({@code max_model_len}) and whether it is the random-weight demo ({@code llama_serve.demo}).
 */
@RestController
public class ModelsController {

    private final InferenceEngine engine;
    private final ServedModel served;
    private final ApiSettings settings;
    private final long created = Instant.now().getEpochSecond();

    public ModelsController(InferenceEngine engine, ServedModel served, ApiSettings settings) {
        this.engine = engine;
        this.served = served;
        this.settings = settings;
    }

    @GetMapping("/v1/models")
    public Mono<Void> list(ServerWebExchange exchange) {
        return Mono.defer(() -> {
            List<ModelWire.ModelCard> cards = new ArrayList<>();
            for (String name : served.allNames()) {
                cards.add(card(name));
            }
            return JsonResponses.write(exchange.getResponse(), new ModelWire.ModelList(cards));
        });
    }

    /**
     * Ids may contain '/', so the rest of the path is the id. With {@code llm.api.accept-any-model} every id is
     * answered (the completion endpoints serve it), as OpenAI answers any model it serves.
     */
    @GetMapping("/v1/models/{*id}")
    public Mono<Void> get(@PathVariable("id") String path, ServerWebExchange exchange) {
        return Mono.defer(() -> {
            String id = path.startsWith("/") ? path.substring(1) : path;
            served.check(id, settings);
            return JsonResponses.write(exchange.getResponse(), card(id));
        });
    }

    private ModelWire.ModelCard card(String id) {
        ModelInfo info = engine.modelInfo();
        return new ModelWire.ModelCard(id, created, served.name(), info.maxModelLen(), info.demo());
    }
}
