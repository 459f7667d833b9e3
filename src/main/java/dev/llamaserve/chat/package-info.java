/**
 * Chat format for Llama 3.1/3.3 Instruct checkpoints: the tokenizer, the chat template rendered in
 * Java, injection-safe encoding and request validation. No Spring or Reactor here.
 *
 * <p>From raw request JSON to engine input:
 * <pre>
 * LlamaTokenizer tokenizer = LlamaTokenizer.load(modelDir);          // once; also the engine's Detokenizer
 * ChatFormat chat = new ChatFormat(tokenizer, chatOptions);           // once; logs template differences
 * ChatPrompt prompt = chat.prepare(
 *         new ChatInput(body.get("messages"), body.get("tools"), true, body.get("chat_template_kwargs")));
 *                                                                     // InvalidRequestException → 400
 * engine.submit(new GenerationRequest(requestId, prompt.tokenIds(), params, ParamNames.CHAT));
 *                                      // GenerationRequest.validate: ranges and the context-length rule
 * </pre>
 * {@link dev.llamaserve.chat.PromptDryRun} holds the logic of {@code POST /tokenize} and
 * {@code POST /detokenize}.
 */
package dev.llamaserve.chat;
