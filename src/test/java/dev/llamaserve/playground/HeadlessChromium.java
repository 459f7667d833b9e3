package dev.llamaserve.playground;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.logging.Level;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * The system's Chromium (Debian packages {@code chromium} and {@code chromium-driver}) driven through its own
 * chromedriver. Nothing is downloaded: the driver and browser paths are set explicitly, so Selenium Manager is
 * never asked to find or fetch one. Without the packages the calling test is skipped with the reason, unless
 * {@code LLM_REQUIRE_BROWSER=1} (set by {@code .ci/run}), in which case it fails.
 */
final class HeadlessChromium {

    static final Path CHROMIUM = Path.of(env("LLM_CHROMIUM", "/usr/bin/chromium"));
    static final Path CHROMEDRIVER = Path.of(env("LLM_CHROMEDRIVER", "/usr/bin/chromedriver"));

    private HeadlessChromium() {}

    /** Starts a headless browser with a throwaway profile in {@code profile}, or skips/fails as described. */
    static ChromeDriver start(Path profile) {
        String missing = !Files.isExecutable(CHROMIUM) ? CHROMIUM.toString()
                : !Files.isExecutable(CHROMEDRIVER) ? CHROMEDRIVER.toString() : null;
        if (missing != null) {
            String reason = missing + " is not installed (apt-get install -y chromium chromium-driver): "
                    + "the playground's browser test needs it";
            if ("1".equals(System.getenv("LLM_REQUIRE_BROWSER"))) {
                fail("LLM_REQUIRE_BROWSER=1 but " + reason);
            }
            Assumptions.abort(reason);
        }
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--window-size=1400,900",
                "--user-data-dir=" + profile.toAbsolutePath());
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .build();
        ChromeDriver driver = new ChromeDriver(service, options);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
        return driver;
    }

    /**
     * The browser console's script errors and Content-Security-Policy violations since the last call (failed
     * HTTP answers, which the page shows on purpose, are not among them).
     */
    static List<String> scriptErrors(ChromeDriver driver) {
        return driver.manage().logs().get(LogType.BROWSER).getAll().stream()
                .map(LogEntry::getMessage)
                .filter(m -> m.contains("Uncaught") || m.contains("Content Security Policy") || m.contains("TypeError")
                        || m.contains("ReferenceError"))
                .toList();
    }

    static Path tempProfile() {
        try {
            return Files.createTempDirectory("llama-serve-chromium");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Polls {@code condition} every 20 ms until it holds; fails with {@code what} after {@code timeout}. */
    static void await(Duration timeout, String what, BooleanSupplier condition) {
        await(timeout, what, condition, () -> "");
    }

    /** As {@link #await(Duration, String, BooleanSupplier)}; the failure also says what {@code state} reads then. */
    static void await(Duration timeout, String what, BooleanSupplier condition, Supplier<String> state) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                String now = state.get();
                fail("timed out after " + timeout + " waiting for: " + what + (now.isEmpty() ? "" : "; " + now));
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted waiting for: " + what);
            }
        }
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }
}
