package dev.llamaserve.ops.limits;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.api.openai.ApiException;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Against a REAL Redis (see {@link TestRedis}): shared windows, atomic taking, failover when Redis goes. */
class RedisQuotasTest {

    /** Generous: the machine running the tests may be busy; a dead port fails at once anyway. */
    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    /** A client id no other run used: windows outlive a run by up to a minute. */
    private static String client() {
        return "test-" + UUID.randomUUID();
    }

    @Test
    void twoStoresOnOneRedisAdmitTheLimitTogether() {
        String url = TestRedis.url();
        try (RedisQuotas a = new RedisQuotas(url, TIMEOUT, Duration.ofMinutes(1));
                RedisQuotas b = new RedisQuotas(url, TIMEOUT, Duration.ofMinutes(1))) {
            awayFromTheWindowsEnd(a);
            String client = client();
            int admitted = 0;
            for (int i = 0; i < 10; i++) {
                Window w = (i % 2 == 0 ? a : b).acquire(client, LimitKind.REQUESTS, 5, 1);
                if (w.admitted()) {
                    admitted++;
                    assertThat(w.remaining()).isEqualTo(5 - admitted);
                } else {
                    assertThat(w.remaining()).isZero();
                    assertThat(w.retryAfter()).isPositive().isLessThanOrEqualTo(Duration.ofMinutes(1));
                    assertThat(w.reset()).isEqualTo(w.retryAfter());
                }
            }
            assertThat(admitted).isEqualTo(5);

            String tokens = client();
            assertThat(a.acquire(tokens, LimitKind.TOKENS, 100, 0).reset()).as("untouched window").isZero();
            assertThat(a.acquire(tokens, LimitKind.TOKENS, 100, 70).remaining()).isEqualTo(30);
            Window refused = b.acquire(tokens, LimitKind.TOKENS, 100, 31);
            assertThat(refused.admitted()).isFalse();
            assertThat(refused.remaining()).as("nothing taken").isEqualTo(30);
            assertThat(b.acquire(tokens, LimitKind.TOKENS, 100, 30).remaining()).isZero();
        }
    }

    @Test
    void redisGoingAwayFallsBackToLocalLimitsWhenOpenAndComesBack() throws Exception {
        String client = client();
        // a window of 10 minutes: Redis's window must not end while it is away and comes back (a command timeout,
        // Lettuce's reconnect backoff and the retry interval: seconds on a loaded machine)
        try (TcpProxy proxy = new TcpProxy(TestRedis.host(), TestRedis.port());
                FailoverQuotas quotas = new FailoverQuotas(new RedisQuotas(proxy.redisUrl(), TIMEOUT,
                        Duration.ofMinutes(10)), new LocalQuotas(100), FailoverQuotas.OnFailure.OPEN, "test")) {
            awayFromTheWindowsEnd(quotas);
            assertThat(quotas.acquire(client, LimitKind.REQUESTS, 3, 1).remaining()).isEqualTo(2);
            assertThat(quotas.failing()).isFalse();
            proxy.down(true); // Redis goes away mid-test
            Window local = quotas.acquire(client, LimitKind.REQUESTS, 3, 1);
            assertThat(quotas.failing()).isTrue();
            assertThat(local.admitted()).isTrue();
            assertThat(local.remaining()).as("this replica's own, fresh window").isEqualTo(2);
            assertThat(quotas.acquire(client, LimitKind.REQUESTS, 3, 1).admitted()).isTrue();
            assertThat(quotas.acquire(client, LimitKind.REQUESTS, 3, 1).admitted()).isTrue();
            assertThat(quotas.acquire(client, LimitKind.REQUESTS, 3, 1).admitted()).as("local limit holds").isFalse();

            proxy.down(false); // Redis comes back, on the same address
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            Window w = quotas.acquire(client, LimitKind.REQUESTS, 3, 1);
            while (quotas.failing() && System.nanoTime() < deadline) {
                Thread.sleep(100);
                w = quotas.acquire(client, LimitKind.REQUESTS, 3, 1);
            }
            assertThat(quotas.failing()).as("Redis used again once it is back").isFalse();
            assertThat(w.remaining()).as("the shared window, where 1 was taken before").isLessThan(2);
        }
    }

    /**
     * A Redis that hangs fails each command only at the timeout: after the first such failure requests do
     * without it (fast), one request per retry interval tries it again, and it is used again once it answers.
     */
    @Test
    void aHungRedisIsWaitedForOncePerRetryIntervalNotByEveryRequest() throws Exception {
        Duration timeout = Duration.ofMillis(500);
        String client = client();
        try (TcpProxy proxy = new TcpProxy(TestRedis.host(), TestRedis.port());
                FailoverQuotas quotas = new FailoverQuotas(new RedisQuotas(proxy.redisUrl(), timeout,
                        Duration.ofMinutes(1)), new LocalQuotas(100), FailoverQuotas.OnFailure.OPEN, "test",
                        Duration.ofSeconds(3), System::nanoTime)) {
            awayFromTheWindowsEnd(quotas);
            assertThat(quotas.acquire(client, LimitKind.REQUESTS, 100, 1).admitted()).isTrue();
            proxy.hang(true);
            long start = System.nanoTime();
            assertThat(quotas.acquire(client, LimitKind.REQUESTS, 100, 1).admitted()).isTrue();
            assertThat(quotas.failing()).isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as("the first waits for the timeout")
                    .isGreaterThanOrEqualTo(timeout.minusMillis(50));
            long rest = System.nanoTime();
            for (int i = 0; i < 20; i++) {
                assertThat(quotas.acquire(client, LimitKind.REQUESTS, 100, 1).admitted()).isTrue();
            }
            assertThat(Duration.ofNanos(System.nanoTime() - rest)).as("20 more do not wait for the hung Redis")
                    .isLessThan(timeout);

            proxy.hang(false);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (quotas.failing() && System.nanoTime() < deadline) {
                Thread.sleep(100);
                quotas.acquire(client, LimitKind.REQUESTS, 100, 1);
            }
            assertThat(quotas.failing()).as("Redis used again once it answers").isFalse();
        }
    }

    @Test
    void redisGoingAwayRefusesWith503WhenClosed() throws Exception {
        String client = client();
        try (TcpProxy proxy = new TcpProxy(TestRedis.host(), TestRedis.port());
                FailoverQuotas quotas = new FailoverQuotas(new RedisQuotas(proxy.redisUrl(), TIMEOUT,
                        Duration.ofMinutes(1)), new LocalQuotas(100), FailoverQuotas.OnFailure.CLOSED, "test")) {
            assertThat(quotas.acquire(client, LimitKind.REQUESTS, 3, 1).admitted()).isTrue();
            proxy.close();
            assertThatThrownBy(() -> quotas.acquire(client, LimitKind.REQUESTS, 3, 1))
                    .isInstanceOfSatisfying(ApiException.class, e -> {
                        assertThat(e.status()).isEqualTo(503);
                        assertThat(e.code()).isEqualTo("rate_limiter_unavailable");
                        assertThat(e.retry()).isTrue();
                    });
        }
    }

    @Test
    void aDeadPortFromTheStartFallsBackAtOnce() throws Exception {
        // A port that stays ours and refuses every connection (reset at once): a port closed and then named
        // again could meanwhile be bound by any other socket, or be picked as the connection's own local port.
        try (TcpProxy dead = TcpProxy.refusingAll();
                FailoverQuotas quotas = new FailoverQuotas(new RedisQuotas(dead.redisUrl(), TIMEOUT,
                Duration.ofMinutes(1)), new LocalQuotas(100), FailoverQuotas.OnFailure.OPEN, "dead")) {
            assertThat(quotas.acquire("c", LimitKind.REQUESTS, 3, 1).admitted()).isTrue(); // Lettuce starts here
            assertThat(quotas.failing()).isTrue();
            long start = System.nanoTime();
            assertThat(quotas.acquire("c", LimitKind.REQUESTS, 3, 1).admitted()).isTrue();
            assertThat(quotas.acquire("c", LimitKind.REQUESTS, 3, 1).admitted()).isTrue();
            for (int i = 0; i < 20; i++) {
                assertThat(quotas.acquire("c", LimitKind.REQUESTS, 3, 1).admitted()).isFalse();
            }
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as("22 requests do not wait for the dead Redis")
                    .isLessThan(Duration.ofSeconds(10));
        }
    }

    /** Windows are minutes of Redis's clock: start well inside one, so that one test sees one window. */
    static void awayFromTheWindowsEnd(QuotaStore store) {
        Window w = store.acquire(client(), LimitKind.REQUESTS, 1, 1);
        if (w.reset().compareTo(Duration.ofSeconds(10)) < 0) {
            try {
                Thread.sleep(w.reset().toMillis() + 200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
