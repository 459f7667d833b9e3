package dev.llamaserve.api.openai;

import java.util.List;

/** Wire records of {@code /v1/models}. */
public final class ModelWire {

    private ModelWire() {}

    public record ModelList(String object, List<ModelCard> data) {
        public ModelList(List<ModelCard> data) {
            this("list", data);
        }
    }

    /**
     * @param root the served name (an alias's card points at it)
     * @param maxModelLen the context length (prompt + completion tokens)
     */
    public record ModelCard(String id, String object, long created, String ownedBy, String root, int maxModelLen) {
        public ModelCard(String id, long created, String root, int maxModelLen) {
            this(id, "model", created, "llama-serve", root, maxModelLen);
        }
    }
}
