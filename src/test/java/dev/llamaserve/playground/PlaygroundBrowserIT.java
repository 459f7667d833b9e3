package dev.llamaserve.playground;

import static dev.llamaserve.playground.HeadlessChromium.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.api.openai.OpenAiJson;
import dev.llamaserve.api.openai.RealEngineWebTest;
import dev.llamaserve.engine.EngineStats;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.springframework.util.FileSystemUtils;
import tools.jackson.databind.JsonNode;

/**
 * The playground page at {@code /} in a real headless Chromium against the real server (demo checkpoint, real
 * engine): streaming, stats, Stop freeing the engine, API errors, and untrusted text staying text.
 */
class PlaygroundBrowserIT extends RealEngineWebTest {

    private static final String STORE = "llama-serve.playground.v1";
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Pattern COMPLETION = Pattern.compile(
            "TTFT (\\d+) ms · ([\\d.]+) tok/s · (\\d+) prompt \\+ (\\d+) completion = (\\d+) tokens · [\\d.]+ s · finish: (\\w+)");

    private static ChromeDriver driver;
    private static Path profile;

    @BeforeEach
    void freshPage() {
        if (driver == null) {
            profile = HeadlessChromium.tempProfile();
            driver = HeadlessChromium.start(profile);
        }
        // the storage cleared on a page of the same origin that runs no playground script: cleared on the playground
        // itself, a save() of that page (its model list arriving after the clear) wrote the last test's conversation
        // back, and the next request carried its "Hi" (seen once in a fresh clone's CI run)
        driver.get(baseUrl() + "/api.js");
        driver.executeScript("localStorage.clear(); sessionStorage.clear();");
        driver.get(baseUrl() + "/");
        await(WAIT, "the model card", () -> text("model-name").equals(MODEL));
    }

    @AfterEach
    void noScriptErrors() {
        if (driver != null) {
            assertThat(HeadlessChromium.scriptErrors(driver)).as("script errors and CSP violations in the console")
                    .isEmpty();
        }
    }

    @AfterAll
    static void quit() {
        if (driver != null) {
            driver.quit();
            driver = null;
        }
        if (profile != null) {
            FileSystemUtils.deleteRecursively(profile.toFile());
        }
    }

    @Test
    void servesThePageWithModelNameContextLengthAndDemoBanner() throws Exception {
        HttpResponse<String> page = get("/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
        assertThat(driver.getTitle()).isEqualTo("llama-serve · Playground");
        assertThat(text("context-length")).isEqualTo("4,096 tokens context");
        assertThat(byId("demo-banner").isDisplayed()).isTrue();
        assertThat(text("demo-banner")).contains("random weights").contains(MODEL);
        assertThat(byId("model-input").getDomProperty("value")).isEqualTo(MODEL);
    }

    @Test
    void streamsTokensAsTheyArriveAndShowsTheStats() throws Exception {
        setField("max-tokens", "64");
        setField("extra", "{\"ignore_eos\": true}");
        // record the answer's length at every DOM change while the request runs: streamed, not all at the end
        driver.executeScript("window.__lengths = []; new MutationObserver(function () {"
                + " var b = document.querySelector('.msg.assistant .msg-body');"
                + " if (b && document.body.classList.contains('running')) window.__lengths.push(b.textContent.length);"
                + "}).observe(document.getElementById('messages'), {childList: true, subtree: true, characterData: true});");
        byId("prompt").sendKeys("Tell me a story");
        byId("send").click();
        String stats = awaitAnswerStats().getText();

        Matcher m = COMPLETION.matcher(stats);
        assertThat(m.find()).as("stats line: %s", stats).isTrue();
        assertThat(Integer.parseInt(m.group(4))).as("completion tokens").isEqualTo(64);
        assertThat(Integer.parseInt(m.group(3))).as("prompt tokens").isPositive();
        assertThat(Double.parseDouble(m.group(2))).as("tokens per second").isPositive();
        assertThat(m.group(6)).isEqualTo("length");
        assertThat(text("stats")).startsWith("Last answer: TTFT");
        String answer = driver.findElement(By.cssSelector(".msg.assistant .msg-body")).getText();
        assertThat(answer).isNotBlank();
        @SuppressWarnings("unchecked")
        List<Long> lengths = (List<Long>) driver.executeScript("return window.__lengths;");
        List<Long> partial = lengths.stream().filter(l -> l > 0).distinct().toList();
        assertThat(partial).as("partial answers rendered while streaming").hasSizeGreaterThanOrEqualTo(3);
        Files.createDirectories(Path.of("target"));
        Files.write(Path.of("target/playground.png"), driver.getScreenshotAs(OutputType.BYTES));

        // the conversation survives a reload
        driver.navigate().refresh();
        await(WAIT, "the restored conversation", () -> driver.findElements(By.cssSelector(".msg")).size() == 2);
        assertThat(driver.findElement(By.cssSelector(".msg.user .msg-body")).getText()).isEqualTo("Tell me a story");
        assertThat(driver.findElement(By.cssSelector(".msg.assistant .msg-stats")).getText()).isEqualTo(stats);
    }

    @Test
    void stopAbortsTheRequestAndFreesTheEngine() throws Exception {
        setField("max-tokens", "3500");
        setField("extra", "{\"ignore_eos\": true}");
        byId("prompt").sendKeys("A long answer, please");
        byId("send").click();
        await(WAIT, "tokens on the page while the engine runs the request", () ->
                !driver.findElements(By.cssSelector(".msg.assistant .msg-body")).isEmpty()
                        && !driver.findElement(By.cssSelector(".msg.assistant .msg-body")).getText().isEmpty()
                        && engine.stats().running() == 1);
        assertThat(byId("stop").isEnabled()).isTrue();
        byId("stop").click();

        EngineStats idle = awaitIdle(Duration.ofSeconds(10));
        assertThat(idle.running()).isZero();
        assertThat(idle.kvBlocksUsed()).as("KV blocks released").isZero();
        String stats = awaitAnswerStats().getText();
        assertThat(stats).contains("finish: stopped").contains("no usage: stopped");
        Matcher tokens = Pattern.compile("~(\\d+) tokens").matcher(stats);
        assertThat(tokens.find()).isTrue();
        assertThat(Integer.parseInt(tokens.group(1))).as("stopped long before max_tokens").isLessThan(3500);
        assertThat(byId("send").isEnabled()).isTrue();
        assertThat(byId("stop").isEnabled()).isFalse();

        HttpResponse<String> metrics = get("/actuator/prometheus");
        if (metrics.statusCode() == 200 && metrics.body().contains("vllm:num_requests_running")) {
            Matcher running = Pattern.compile("(?m)^vllm:num_requests_running(?:\\{[^}]*})? ([\\d.eE+-]+)$")
                    .matcher(metrics.body());
            assertThat(running.find()).isTrue();
            assertThat(Double.parseDouble(running.group(1))).as("vllm:num_requests_running").isZero();
        }
    }

    @Test
    void showsAValidationErrorWithItsMessage() {
        setField("temperature", "5");
        byId("prompt").sendKeys("Hi");
        byId("send").click();
        WebElement error = awaitError();
        assertThat(error.getText()).startsWith("400 invalid_value (temperature): ").contains("temperature")
                .contains("[0, 2]");
        assertThat(text("stats")).isEqualTo("Request failed: see the error above");
        assertThat(byId("send").isEnabled()).isTrue();
    }

    @Test
    void errorMessagesEchoingMarkupAreShownAsText() {
        String evil = "<img src=x onerror=\"window.__pwned='img'\"><script>window.__pwned='script'</script>";
        setField("model-input", evil);
        byId("prompt").sendKeys("Hi");
        byId("send").click();
        WebElement error = awaitError();
        assertThat(error.getText()).startsWith("404 model_not_found (model): ").contains(evil);
        assertNothingInjected();
    }

    @Test
    void aRestoredConversationWithMarkupIsShownAsText() {
        String script = "<script>window.__pwned='script'</script>";
        String img = "<img src=x onerror=\"window.__pwned='img'\">";
        String conversation = OpenAiJson.MAPPER.writeValueAsString(Map.of(
                "messages", List.of(
                        Map.of("role", "user", "content", script),
                        Map.of("role", "assistant", "content", "**bold** then " + img + "\n\n```html\n" + script + "\n```"),
                        Map.of("role", "error", "content", "500 <b onmouseover=alert(1)>boom</b>")),
                "settings", Map.of("system", "", "model", MODEL, "max_tokens", 16)));
        driver.executeScript("localStorage.setItem(arguments[0], arguments[1]);", STORE, conversation);
        driver.navigate().refresh();
        await(WAIT, "the restored conversation", () -> driver.findElements(By.cssSelector(".msg")).size() == 3);

        assertThat(driver.findElement(By.cssSelector(".msg.user .msg-body")).getText()).isEqualTo(script);
        WebElement answer = driver.findElement(By.cssSelector(".msg.assistant .msg-body"));
        assertThat(answer.getText()).contains("bold then " + img).contains(script);
        assertThat(answer.findElements(By.tagName("strong"))).hasSize(1);
        assertThat(answer.findElement(By.cssSelector("pre code")).getText()).isEqualTo(script);
        assertThat(driver.findElement(By.cssSelector(".msg.error .msg-body")).getText())
                .isEqualTo("500 <b onmouseover=alert(1)>boom</b>");
        assertNothingInjected();
    }

    @Test
    void theContentSecurityPolicyBlocksInlineScript() {
        driver.executeScript("var s = document.createElement('script'); s.textContent = \"window.__pwned = 'inline'\";"
                + " document.body.appendChild(s);");
        assertNothingInjected();
        assertThat(HeadlessChromium.scriptErrors(driver)).as("the console reports the violation")
                .anySatisfy(m -> assertThat(m).contains("Content Security Policy"));
    }

    @Test
    void markdownRendererEscapesEverythingAndRendersTheBasics() {
        assertThat(markdown("**b** *i* `<c>` ~~s~~ a_b_c")).isEqualTo(
                "<p><strong>b</strong> <em>i</em> <code>&lt;c&gt;</code> <del>s</del> a_b_c</p>");
        assertThat(markdown("<script>alert(1)</script>\n<img src=x onerror=alert(1)>")).isEqualTo(
                "<p>&lt;script&gt;alert(1)&lt;/script&gt;<br>&lt;img src=x onerror=alert(1)&gt;</p>");
        assertThat(markdown("```js\nif (a < b && c > d) {}\n```")).isEqualTo(
                "<pre data-lang=\"js\"><code class=\"language-js\">if (a &lt; b &amp;&amp; c &gt; d) {}</code></pre>");
        assertThat(markdown("```\"><script>x</script>\nbody")).as("a fence's odd info string is dropped, not injected")
                .isEqualTo("<pre><code>body</code></pre>");
        assertThat(markdown("- one\n- <b>two</b>\n\n1. first\n2. second")).isEqualTo(
                "<ul><li>one</li><li>&lt;b&gt;two&lt;/b&gt;</li></ul><ol><li>first</li><li>second</li></ol>");
        assertThat(markdown("[ok](https://example.org/x) [no](javascript:alert(1))")).isEqualTo(
                "<p><a href=\"https://example.org/x\" target=\"_blank\" rel=\"noopener noreferrer nofollow\">ok</a>"
                        + " [no](javascript:alert(1))</p>");
        assertThat(markdown("```\nstill streaming <i>")).as("an unterminated fence runs to the end")
                .isEqualTo("<pre><code>still streaming &lt;i&gt;</code></pre>");
    }

    @Test
    void exportsTheRequestItSendsAndTheServerAcceptsIt() throws Exception {
        String conversation = OpenAiJson.MAPPER.writeValueAsString(Map.of(
                "messages", List.of(Map.of("role", "user", "content", "Hi"),
                        Map.of("role", "assistant", "content", "Hello! 'quoted' \"text\""),
                        Map.of("role", "error", "content", "not sent")),
                "settings", Map.of("system", "Be brief.", "model", MODEL, "temperature", 0, "top_p", 0.9,
                        "max_tokens", 8)));
        driver.executeScript("localStorage.setItem(arguments[0], arguments[1]);", STORE, conversation);
        driver.navigate().refresh();
        await(WAIT, "the restored conversation", () -> driver.findElements(By.cssSelector(".msg")).size() == 3);
        byId("prompt").sendKeys("And now?");
        byId("export").click();
        await(WAIT, "the export dialog", () -> byId("export-dialog").isDisplayed());

        String json = byId("export-json").getDomProperty("value");
        JsonNode request = OpenAiJson.MAPPER.readTree(json);
        assertThat(request.get("model").asString()).isEqualTo(MODEL);
        assertThat(request.get("stream").asBoolean()).isTrue();
        assertThat(request.get("stream_options").get("include_usage").asBoolean()).isTrue();
        assertThat(request.get("temperature").asDouble()).isZero();
        assertThat(request.get("top_p").asDouble()).isEqualTo(0.9);
        assertThat(request.get("max_tokens").asInt()).isEqualTo(8);
        List<String> roles = new ArrayList<>();
        request.get("messages").forEach(msg -> roles.add(msg.get("role").asString() + ":" + msg.get("content").asString()));
        assertThat(roles).containsExactly("system:Be brief.", "user:Hi", "assistant:Hello! 'quoted' \"text\"",
                "user:And now?");
        assertThat(byId("export-curl").getDomProperty("value"))
                .startsWith("curl -N " + baseUrl() + "/v1/chat/completions")
                .contains(json);

        HttpResponse<String> sent = post("/v1/chat/completions", json);
        assertThat(sent.statusCode()).as(sent.body()).isEqualTo(200);
        assertThat(sent.body()).contains("\"usage\"").endsWith("data: [DONE]\n\n");
    }

    @Test
    void theApiKeyStaysInTheBrowserAndGoesOutOnlyAsBearerHeader() {
        // the real fetch still runs (this server requires no key); the wrapper only records the headers sent
        driver.executeScript("window.__auth = []; var real = window.fetch; window.fetch = function (url, init) {"
                + " window.__auth.push(String(url) + ' ' + ((init && init.headers && init.headers.Authorization) || '-'));"
                + " return real.apply(this, arguments); };");
        setField("api-key", "sk-test-123");
        byId("prompt").click(); // the key field's change event: stored, and the models asked again with it
        setField("max-tokens", "4");
        byId("prompt").sendKeys("Hi");
        byId("send").click();
        awaitAnswerStats();
        @SuppressWarnings("unchecked")
        List<String> sent = (List<String>) driver.executeScript("return window.__auth;");
        assertThat(sent).containsExactly("v1/models Bearer sk-test-123", "v1/chat/completions Bearer sk-test-123");
        assertThat(driver.executeScript("return sessionStorage.getItem('llama-serve.playground.api-key');"))
                .isEqualTo("sk-test-123");
        assertThat(driver.executeScript("return localStorage.getItem('llama-serve.playground.api-key');")).isNull();
        assertThat((String) driver.executeScript("return localStorage.getItem(arguments[0]);", STORE))
                .doesNotContain("sk-test");

        byId("remember-key").click();
        assertThat(driver.executeScript("return localStorage.getItem('llama-serve.playground.api-key');"))
                .isEqualTo("sk-test-123");
        byId("export").click();
        await(WAIT, "the export dialog", () -> byId("export-dialog").isDisplayed());
        assertThat(byId("export-json").getDomProperty("value")).doesNotContain("sk-test");
        assertThat(byId("export-curl").getDomProperty("value")).doesNotContain("sk-test")
                .contains("-H \"Authorization: Bearer $LLAMA_SERVE_API_KEY\"");
    }

    @Test
    void retryAfterAndMidStreamErrorEventsAreReadable() {
        // These two answers cannot be provoked on demand from the shared real server (a full waiting queue, a
        // failing model), so the page's own fetch gets them scripted here; the server side of both is tested
        // in the API's tests. What is tested is the page: the Retry-After time and the SSE error event shown.
        driver.executeScript("window.fetch = function () { return Promise.resolve(new Response("
                + "JSON.stringify({error: {message: 'The server is overloaded; retry later.', type: 'server_error',"
                + " param: null, code: 'overloaded'}}), {status: 503, headers: {'Retry-After': '2'}})); };");
        byId("prompt").sendKeys("Hi");
        byId("send").click();
        assertThat(awaitError().getText())
                .isEqualTo("503 overloaded: The server is overloaded; retry later. — retry after 2 s");

        scriptStream("'data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Partial <b>answer</b>\"}}]}\\n\\n'"
                + " + 'data: {\"error\":{\"message\":\"The model failed <i>while</i> generating.\","
                + "\"type\":\"server_error\",\"param\":null,\"code\":\"internal_error\"}}\\n\\n' + 'data: [DONE]\\n\\n'");
        driver.findElement(By.id("clear")).click();
        byId("prompt").sendKeys("Again");
        byId("send").click();
        WebElement error = awaitError();
        assertThat(error.getText())
                .isEqualTo("Error during generation internal_error: The model failed <i>while</i> generating.");
        assertThat(driver.findElement(By.cssSelector(".msg.assistant .msg-body")).getText())
                .isEqualTo("Partial <b>answer</b>");
        assertNothingInjected();
    }

    @Test
    void aStreamCutBeforeDoneIsAnErrorAndOtherChoicesStayOut() {
        // a proxy that closes the response mid-stream ends it cleanly, without [DONE]; and a chunk of another
        // choice (n > 1 sent some other way) is not this answer's. Scripted, as the real server does neither.
        scriptStream("'data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}]}\\n\\n'"
                + " + 'data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\" other\"},\"finish_reason\":\"length\"}]}\\n\\n'");
        byId("prompt").sendKeys("Hi");
        byId("send").click();
        assertThat(awaitError().getText()).isEqualTo("Error during generation: the stream ended before [DONE]");
        assertThat(driver.findElement(By.cssSelector(".msg.assistant .msg-body")).getText()).isEqualTo("Hello");
    }

    @Test
    void aSavedModelThisServerDoesNotServeIsReplacedAndNAboveOneIsRefused() throws Exception {
        // saved while another model was served (the demo, before LLM_MODEL_PATH was set)
        String saved = OpenAiJson.MAPPER.writeValueAsString(Map.of("messages", List.of(),
                "settings", Map.of("system", "", "model", "llama-3.1-served-before", "max_tokens", 4)));
        driver.executeScript("localStorage.setItem(arguments[0], arguments[1]);", STORE, saved);
        driver.navigate().refresh();
        await(WAIT, "the served model in the model field", () -> MODEL.equals(byId("model-input").getDomProperty("value")));

        setField("extra", "{\"n\": 2}");
        byId("prompt").sendKeys("Hi");
        byId("send").click();
        await(WAIT, "the extra parameters' error", () -> byId("extra-error").isDisplayed());
        assertThat(text("extra-error")).isEqualTo("Extra parameters: the playground shows one answer, so n must be 1.");
        assertThat(driver.findElements(By.cssSelector(".msg.assistant"))).as("nothing sent").isEmpty();
    }

    @Test
    void anAnswerThatEndsWithoutTextKeepsItsStatsAndIsNoError() {
        // a model may end its turn at once (its end-of-turn token first): 200, finish "stop", no content. The
        // random demo weights do that only by chance, so the page's fetch gets such a stream scripted here.
        scriptStream("'data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\\n\\n'"
                + " + 'data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\\n\\n'"
                + " + 'data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":1,"
                + "\"total_tokens\":13}}\\n\\n' + 'data: [DONE]\\n\\n'");
        byId("prompt").sendKeys("Hi");
        byId("send").click();
        String stats = awaitAnswerStats().getText();

        assertThat(stats).contains("12 prompt + 1 completion = 13 tokens").endsWith("finish: stop");
        assertThat(text("stats")).startsWith("Last answer: ");
        assertThat(driver.findElements(By.cssSelector(".msg.error"))).as("no error shown").isEmpty();
        assertThat(driver.findElement(By.cssSelector(".msg.assistant")).getDomAttribute("class")).contains("no-text");
        assertThat(driver.findElement(By.cssSelector(".msg.assistant .msg-body")).getText()).isEmpty();
        assertThat(driver.executeScript("return getComputedStyle(document.querySelector('.msg.no-text .msg-body'),"
                + " '::before').content;")).isEqualTo("\"(no text)\"");
    }

    /** 3,000 nested quotes crashed the tab (and, saved, every reload): nesting is capped, the rest is text. */
    @Test
    void deeplyNestedMarkdownIsCappedAndARestoredOneStillLoads() throws Exception {
        String deep = ">".repeat(3000) + " x";
        Long quotes = (Long) driver.executeScript("var d = document.createElement('div');"
                + " d.appendChild(LlamaMarkdown.render(arguments[0])); return d.querySelectorAll('blockquote').length;",
                deep);
        assertThat(quotes).isBetween(1L, 16L);
        assertThat((Long) driver.executeScript("var d = document.createElement('div');"
                + " d.appendChild(LlamaMarkdown.render(arguments[0])); return d.querySelectorAll('em').length;",
                "*a ".repeat(2000) + "b" + " a*".repeat(2000))).isBetween(1L, 16L);
        String saved = OpenAiJson.MAPPER.writeValueAsString(Map.of("messages", List.of(
                Map.of("role", "user", "content", "repeat >"), Map.of("role", "assistant", "content", deep)),
                "settings", Map.of("system", "", "model", MODEL)));
        driver.executeScript("localStorage.setItem(arguments[0], arguments[1]);", STORE, saved);
        driver.navigate().refresh();
        await(WAIT, "the restored conversation", () -> driver.findElements(By.cssSelector(".msg.assistant")).size() == 1);
        assertThat(driver.findElement(By.cssSelector(".msg.assistant .msg-body")).getText()).contains("x");
    }

    /** The spec lets an event end in any mix of CRLF, LF and CR, a CRLF split across reads too. */
    @Test
    void sseLineEndingsMayBeMixed() {
        @SuppressWarnings("unchecked")
        List<Object> events = (List<Object>) driver.executeScript("var p = new LlamaApi.SseParser(); var out = [];"
                + " out = out.concat(p.feed('data: {\"a\":1}\\n\\r\\n'));"
                + " out = out.concat(p.feed('data: {\"b\":2}\\r'));"
                + " out = out.concat(p.feed('\\n\\r\\ndata: {\"c\":3}\\r\\n\\n'));"
                + " return out.map(function (e) { return e.data; });");
        assertThat(events).containsExactly("{\"a\":1}", "{\"b\":2}", "{\"c\":3}");
    }

    /**
     * A tool call (tools in Extra) is shown as the call, not as an empty answer, and kept with the answer: the next
     * request and the export carry it as the assistant's tool_calls (its streamed id too), which the server accepts.
     */
    @Test
    void toolCallsAreShownNotDropped() throws Exception {
        scriptStream("'data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\\n\\n'"
                + " + 'data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
                + "\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\\\"city\\\\\":"
                + "\\\\\"<b>Oslo</b>\\\\\"}\"}}]}}]}\\n\\n'"
                + " + 'data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\\n\\n'"
                + " + 'data: [DONE]\\n\\n'");
        byId("prompt").sendKeys("Weather?");
        byId("send").click();
        assertThat(awaitAnswerStats().getText()).endsWith("finish: tool_calls").doesNotContain("stopped")
                .doesNotContain("TTFT —");
        assertThat(driver.findElement(By.cssSelector(".msg.assistant .tool-call")).getText())
                .isEqualTo("Tool call: get_weather({\"city\":\"<b>Oslo</b>\"})");
        assertThat(driver.findElement(By.cssSelector(".msg.assistant")).getDomAttribute("class")).doesNotContain("no-text");
        assertThat(byId("announce").getDomProperty("textContent")).isEqualTo("Answer finished.");
        assertNothingInjected();

        setField("max-tokens", "4");
        byId("prompt").sendKeys("Thanks");
        byId("export").click();
        await(WAIT, "the export dialog", () -> byId("export-dialog").isDisplayed());
        String json = byId("export-json").getDomProperty("value");
        assertCarriesTheCall(OpenAiJson.MAPPER.readTree(json));
        HttpResponse<String> sent = post("/v1/chat/completions", json);
        assertThat(sent.statusCode()).as(sent.body()).isEqualTo(200);
        byId("export-close").click();

        byId("send").click();
        await(WAIT, "the second request", () -> ((Long) driver.executeScript("return window.__sent.length;")) == 2);
        assertCarriesTheCall(OpenAiJson.MAPPER.readTree((String) driver.executeScript("return window.__sent[1];")));
        awaitAnswerStats();
    }

    /** The request after "Weather?" was answered with the get_weather call, and "Thanks" was typed. */
    private static void assertCarriesTheCall(JsonNode request) {
        JsonNode messages = request.get("messages");
        assertThat(messages).hasSize(3);
        assertThat(messages.get(0).get("content").asString()).isEqualTo("Weather?");
        JsonNode answer = messages.get(1);
        assertThat(answer.get("role").asString()).isEqualTo("assistant");
        assertThat(answer.get("content").isNull()).as(answer.toString()).isTrue();
        assertThat(answer.get("tool_calls")).singleElement().satisfies(c -> {
            assertThat(c.get("id").asString()).isEqualTo("call_1");
            assertThat(c.get("type").asString()).isEqualTo("function");
            assertThat(c.get("function").get("name").asString()).isEqualTo("get_weather");
            assertThat(c.get("function").get("arguments").asString()).isEqualTo("{\"city\":\"<b>Oslo</b>\"}");
        });
        assertThat(messages.get(2).get("role").asString()).isEqualTo("user");
        assertThat(messages.get(2).get("content").asString()).isEqualTo("Thanks");
    }

    @Test
    void thePageIsSentWithItsPolicyAsHeadersSoNoSiteCanFrameIt() throws Exception {
        java.net.http.HttpResponse<String> page = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create(baseUrl() + "/")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(page.headers().firstValue("Content-Security-Policy")).hasValueSatisfying(v -> assertThat(v)
                .contains("frame-ancestors 'none'").contains("script-src 'self'").contains("default-src 'none'"));
        assertThat(page.headers().firstValue("X-Frame-Options")).hasValue("DENY");
        assertThat(page.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
        setField("extra", "{\"stream\": false}");
        byId("prompt").sendKeys("Hi");
        byId("send").click();
        await(WAIT, "the extra parameters' error", () -> byId("extra-error").isDisplayed());
        assertThat(text("extra-error")).isEqualTo("Extra parameters: the playground streams, so stream must be true.");
    }

    /**
     * The page's fetch answers every request with this SSE body (a JS string expression): streams the shared
     * real server cannot be made to send on demand. The request bodies sent are kept in
     * {@code window.__sent}.
     */
    private void scriptStream(String body) {
        driver.executeScript("window.__sent = []; window.fetch = function (url, init) {"
                + " if (init && init.body) window.__sent.push(init.body); var body = " + body + ";"
                + " return Promise.resolve(new Response(body, {status: 200,"
                + " headers: {'Content-Type': 'text/event-stream'}})); };");
    }

    private String markdown(String text) {
        return (String) driver.executeScript("return LlamaMarkdown.toHtml(arguments[0]);", text);
    }

    private void assertNothingInjected() {
        assertThat(driver.executeScript("return window.__pwned === undefined;")).as("no injected script ran")
                .isEqualTo(true);
        WebElement messages = byId("messages");
        assertThat(messages.findElements(By.tagName("img"))).isEmpty();
        assertThat(messages.findElements(By.tagName("script"))).isEmpty();
        assertThat(messages.findElements(By.tagName("b"))).isEmpty();
        assertThat(messages.findElements(By.tagName("i"))).isEmpty();
    }

    private WebElement awaitAnswerStats() {
        By by = By.cssSelector(".msg.assistant .msg-stats");
        await(WAIT, "the answer's stats", () -> byId("send").isEnabled() && !driver.findElements(by).isEmpty()
                && !driver.findElement(by).getText().isEmpty(), this::pageState);
        return driver.findElement(by);
    }

    private WebElement awaitError() {
        By by = By.cssSelector(".msg.error .msg-body");
        await(WAIT, "an error message", () -> byId("send").isEnabled() && !driver.findElements(by).isEmpty(),
                this::pageState);
        return driver.findElement(by);
    }

    /** What the page shows now (for a timeout's message): the send button, the status line and each message. */
    private String pageState() {
        StringBuilder s = new StringBuilder("send ").append(byId("send").isEnabled() ? "enabled" : "disabled")
                .append(", status line '").append(text("stats")).append("', messages:");
        for (WebElement m : driver.findElements(By.cssSelector(".msg"))) {
            String body = m.findElement(By.className("msg-body")).getText();
            s.append(" [").append(m.getDomAttribute("class")).append(": ")
                    .append(body.length() > 80 ? body.substring(0, 80) + "…" : body).append(" | ")
                    .append(m.findElement(By.className("msg-stats")).getText()).append(']');
        }
        return s.toString();
    }

    private void setField(String id, String value) {
        WebElement field = byId(id);
        field.clear();
        field.sendKeys(value);
    }

    private WebElement byId(String id) {
        return driver.findElement(By.id(id));
    }

    private String text(String id) {
        return byId(id).getText();
    }
}
