package dev.llamaserve.ops.limits;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LocalQuotasTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final LocalQuotas quotas = new LocalQuotas(Duration.ofMinutes(1), 1000, now::get);

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    @Test
    void limitAdmittedThenRefusedWithTheWaitToTheWindowsEnd() {
        for (int i = 1; i <= 3; i++) {
            Window w = quotas.acquire("a", LimitKind.REQUESTS, 3, 1);
            assertThat(w.admitted()).isTrue();
            assertThat(w.remaining()).isEqualTo(3 - i);
            assertThat(w.reset()).isEqualTo(Duration.ofSeconds(60 - 10 * (i - 1)));
            advance(Duration.ofSeconds(10));
        }
        Window refused = quotas.acquire("a", LimitKind.REQUESTS, 3, 1);
        assertThat(refused.admitted()).isFalse();
        assertThat(refused.remaining()).isZero();
        assertThat(refused.retryAfter()).isEqualTo(Duration.ofSeconds(30));
        assertThat(refused.reset()).isEqualTo(Duration.ofSeconds(30));
        assertThat(quotas.acquire("b", LimitKind.REQUESTS, 3, 1).admitted()).as("other client untouched").isTrue();
        assertThat(quotas.acquire("a", LimitKind.TOKENS, 3, 1).admitted()).as("other kind untouched").isTrue();

        advance(Duration.ofSeconds(30));
        Window next = quotas.acquire("a", LimitKind.REQUESTS, 3, 1);
        assertThat(next.admitted()).as("a new window").isTrue();
        assertThat(next.remaining()).isEqualTo(2);
    }

    @Test
    void tokensAreTakenManyAtOnceAndOnlyIfAllFit() {
        assertThat(quotas.acquire("a", LimitKind.TOKENS, 100, 60).remaining()).isEqualTo(40);
        Window refused = quotas.acquire("a", LimitKind.TOKENS, 100, 41);
        assertThat(refused.admitted()).isFalse();
        assertThat(refused.remaining()).as("nothing taken").isEqualTo(40);
        assertThat(quotas.acquire("a", LimitKind.TOKENS, 100, 40).remaining()).isZero();
        Window tooLarge = quotas.acquire("b", LimitKind.TOKENS, 100, 101);
        assertThat(tooLarge.admitted()).isFalse();
        assertThat(tooLarge.remaining()).isEqualTo(100);
        Window peek = quotas.acquire("a", LimitKind.TOKENS, 100, 0);
        assertThat(peek.admitted()).isTrue();
        assertThat(peek.remaining()).isZero();
        assertThat(peek.reset()).isEqualTo(Duration.ofMinutes(1));
        assertThat(quotas.acquire("c", LimitKind.TOKENS, 100, 0).reset()).as("untouched: whole").isZero();
    }

    @Test
    void idleLimitersAreEvictedAfterAWindowAndCapacityIsCapped() {
        for (int i = 0; i < 500; i++) {
            quotas.acquire("c" + i, LimitKind.REQUESTS, 5, 1);
        }
        assertThat(quotas.size()).isEqualTo(500);
        advance(Duration.ofSeconds(61));
        quotas.acquire("fresh", LimitKind.REQUESTS, 5, 1);
        assertThat(quotas.size()).as("the idle 500 are gone").isEqualTo(1);
        for (int i = 0; i < 2500; i++) {
            quotas.acquire("d" + i, LimitKind.REQUESTS, 5, 1);
        }
        assertThat(quotas.size()).isEqualTo(1000);
    }

    /** llm.ratelimit.max-clients counts limiters: a client limited on requests and on tokens holds two. */
    @Test
    void capacityCountsOneLimiterPerClientAndKind() {
        LocalQuotas two = new LocalQuotas(Duration.ofMinutes(1), 2, now::get);
        assertThat(two.acquire("a", LimitKind.REQUESTS, 1, 1).admitted()).isTrue();
        assertThat(two.acquire("a", LimitKind.TOKENS, 100, 10).remaining()).isEqualTo(90);
        assertThat(two.size()).as("one client, two limiters").isEqualTo(2);
        assertThat(two.acquire("a", LimitKind.REQUESTS, 1, 1).admitted()).as("a's request window is spent").isFalse();
        two.acquire("b", LimitKind.REQUESTS, 1, 1);   // a third limiter: the least recently used one, a's tokens, goes
        assertThat(two.size()).isEqualTo(2);
        assertThat(two.acquire("a", LimitKind.TOKENS, 100, 0).remaining()).as("a's token window restarted")
                .isEqualTo(100);
    }

    /**
     * 100,000 distinct clients within one minute, each on both limits: the map stays at max-clients limiters, the
     * heap stays small.
     */
    @Test
    void hundredThousandClientsLeaveMemoryBounded() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        LocalQuotas real = new LocalQuotas(10_000);
        long before = usedAfterGc(memory);
        for (int i = 0; i < 100_000; i++) {
            String client = "ip:10." + (i >> 16) + "." + ((i >> 8) & 255) + "." + (i & 255);
            real.acquire(client, LimitKind.REQUESTS, 60, 1);
            real.acquire(client, LimitKind.TOKENS, 100_000, 500);
        }
        long retained = usedAfterGc(memory) - before;
        assertThat(real.size()).isEqualTo(10_000);
        System.out.printf("LocalQuotas: %d limiters retain %.1f MiB (%d bytes each)%n", real.size(),
                retained / 1048576.0, retained / real.size());
        assertThat(retained).as("retained heap, bytes").isLessThan(64L * 1024 * 1024);
    }

    private static long usedAfterGc(MemoryMXBean memory) {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return memory.getHeapMemoryUsage().getUsed();
    }

    @Test
    void resetIsFormattedAsOpenAiDoes() {
        assertThat(RateLimitHeaders.duration(Duration.ZERO)).isEqualTo("0s");
        assertThat(RateLimitHeaders.duration(Duration.ofMillis(250))).isEqualTo("250ms");
        assertThat(RateLimitHeaders.duration(Duration.ofMillis(1000))).isEqualTo("1s");
        assertThat(RateLimitHeaders.duration(Duration.ofMillis(1001))).isEqualTo("2s");
        assertThat(RateLimitHeaders.duration(Duration.ofSeconds(59))).isEqualTo("59s");
        assertThat(RateLimitHeaders.duration(Duration.ofMinutes(6))).isEqualTo("6m0s");
        assertThat(RateLimitHeaders.duration(Duration.ofSeconds(3725))).isEqualTo("1h2m5s");
    }
}
