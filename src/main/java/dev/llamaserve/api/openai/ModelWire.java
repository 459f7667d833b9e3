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
     * @param maxModelLen the context length (prompt + completion tokens), named as vLLM names it
     * @param llamaServe what this server adds to the card ({@code "llama_serve": {"demo": true}})
     */
    public record ModelCard(String id, String object, long created, String ownedBy, String root, int maxModelLen,
            ServerInfo llamaServe) {
        public ModelCard(String id, long created, String root, int maxModelLen, boolean demo) {
            this(id, "model", created, "llama-serve", root, maxModelLen, new ServerInfo(demo));
        }
    }

    /** @param demo true when the served checkpoint is the built-in random-weight demo (its output is random) */
    public record ServerInfo(boolean demo) {}
}
