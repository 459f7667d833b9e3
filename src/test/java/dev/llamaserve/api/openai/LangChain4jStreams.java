package dev.llamaserve.api.openai;

import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs a LangChain4j streaming chat to its end, collecting the partial texts as they arrive. */
final class LangChain4jStreams {

    private LangChain4jStreams() {
    }

    static ChatResponse await(StreamingChatModel model, ChatRequest request, StringBuilder partial, Duration timeout)
            throws Exception {
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        model.chat(request, new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String text) {
                partial.append(text);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        return done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }
}
