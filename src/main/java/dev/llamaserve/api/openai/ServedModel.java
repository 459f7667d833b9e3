package dev.llamaserve.api.openai;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;

/**
 * The names the model is served under: {@code llm.model.served-name} and {@code llm.model.aliases}.
 * Ids may contain {@code /} (e.g. {@code meta-llama/Llama-3.1-8B-Instruct}).
 */
public record ServedModel(String name, List<String> aliases) {

    public ServedModel {
        Objects.requireNonNull(name, "name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("llm.model.served-name is blank");
        }
        List<String> clean = new ArrayList<>();
        for (String a : aliases == null ? List.<String>of() : aliases) {
            if (a != null && !a.isBlank() && !a.equals(name) && !clean.contains(a.strip())) {
                clean.add(a.strip());
            }
        }
        aliases = List.copyOf(clean);
    }

    /** The served name first, then the aliases. */
    public List<String> allNames() {
        LinkedHashSet<String> all = new LinkedHashSet<>();
        all.add(name);
        all.addAll(aliases);
        return List.copyOf(all);
    }

    public boolean answersTo(String id) {
        return id != null && (name.equals(id) || aliases.contains(id));
    }

    /**
     * The rule of a request's {@code model} for every endpoint: unset, or a name this model answers to, or any
     * name where {@code llm.api.accept-any-model} is set; else a 404 {@code model_not_found}.
     */
    public void check(String model, ApiSettings settings) {
        if (model != null && !answersTo(model) && !settings.acceptAnyModel()) {
            throw ApiException.modelNotFound(model);
        }
    }
}
