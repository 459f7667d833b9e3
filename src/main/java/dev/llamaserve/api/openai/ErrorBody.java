package dev.llamaserve.api.openai;

import com.fasterxml.jackson.annotation.JsonInclude;

/** OpenAI's error body: {@code {"error":{"message","type","param","code"}}} (param and code may be null). */
public record ErrorBody(Detail error) {

    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Detail(String message, String type, String param, String code) {}
}
