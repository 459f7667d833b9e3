package dev.llamaserve.ops.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiKeysTest {

    static String sha256Hex(String key) {
        return HexFormat.of().formatHex(ApiKeys.sha256(key));
    }

    @Test
    void plainKeysGetPositionalIdsAndMatchOnlyThemselves() {
        ApiKeys keys = ApiKeys.load(List.of("sk-first", " sk-second "), null);
        assertThat(keys.ids()).containsExactly("key-1", "key-2");
        assertThat(keys.find("sk-first")).map(ApiKey::id).hasValue("key-1");
        assertThat(keys.find("sk-second")).map(ApiKey::id).hasValue("key-2");
        assertThat(keys.find("sk-firs")).isEmpty();
        assertThat(keys.find("sk-first ")).isEmpty();
        assertThat(keys.find("")).isEmpty();
    }

    @Test
    void keysFileLinesWithOptionalLimitsCommentsAndBlankLines(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("keys");
        Files.writeString(file, """
                # team keys
                alice:%s
                bob:%s:30

                carol:%s:0:5000
                dave:%s::9000
                erin:%s:::4
                frank:%s:10:0:0
                """.formatted(sha256Hex("a-key"), sha256Hex("b-key"), sha256Hex("c-key").toUpperCase(),
                sha256Hex("d-key"), sha256Hex("e-key"), sha256Hex("f-key")));
        ApiKeys keys = ApiKeys.load(List.of("plain"), file);
        assertThat(keys.ids()).containsExactly("key-1", "alice", "bob", "carol", "dave", "erin", "frank");
        ApiKey erin = keys.find("e-key").orElseThrow();
        assertThat(erin.requestsPerMinute()).isNull();
        assertThat(erin.tokensPerMinute()).isNull();
        assertThat(erin.maxConcurrentRequests()).isEqualTo(4);
        ApiKey frank = keys.find("f-key").orElseThrow();
        assertThat(frank.requestsPerMinute()).isEqualTo(10L);
        assertThat(frank.maxConcurrentRequests()).as("0: no bound for this key").isZero();
        assertThat(keys.find("d-key").orElseThrow().maxConcurrentRequests()).as("none: the global bound").isNull();
        ApiKey alice = keys.find("a-key").orElseThrow();
        assertThat(alice.requestsPerMinute()).isNull();
        assertThat(alice.tokensPerMinute()).isNull();
        ApiKey bob = keys.find("b-key").orElseThrow();
        assertThat(bob.requestsPerMinute()).isEqualTo(30L);
        assertThat(bob.tokensPerMinute()).isNull();
        ApiKey carol = keys.find("c-key").orElseThrow();
        assertThat(carol.id()).isEqualTo("carol");
        assertThat(carol.requestsPerMinute()).isZero();
        assertThat(carol.tokensPerMinute()).isEqualTo(5000L);
        ApiKey dave = keys.find("d-key").orElseThrow();
        assertThat(dave.requestsPerMinute()).isNull();
        assertThat(dave.tokensPerMinute()).isEqualTo(9000L);
        assertThat(keys.find(sha256Hex("a-key"))).as("the digest is not a key").isEmpty();
    }

    @Test
    void badLinesNameTheLineButNeverTheDigest(@TempDir Path dir) throws Exception {
        String digest = sha256Hex("x");
        assertThatThrownBy(() -> ApiKeys.parseLine("alice:" + digest.substring(1), "f line 3"))
                .hasMessageContaining("f line 3").hasMessageContaining("alice").hasMessageContaining("64 hex")
                .hasMessageNotContaining(digest.substring(1));
        assertThatThrownBy(() -> ApiKeys.parseLine("alice:" + digest + ":-1", "f line 4"))
                .hasMessageContaining("requests-per-minute").hasMessageNotContaining(digest);
        assertThatThrownBy(() -> ApiKeys.parseLine("alice:" + digest + ":1:x", "f line 5"))
                .hasMessageContaining("tokens-per-minute");
        // a window holds an int: 2^31 failed every request of that key with a 500, not the start
        assertThatThrownBy(() -> ApiKeys.parseLine("alice:" + digest + ":1:3000000000", "f line 8"))
                .hasMessageContaining("tokens-per-minute").hasMessageContaining("[0, 2^31)")
                .hasMessageContaining("3000000000");
        assertThat(ApiKeys.parseLine("alice:" + digest + ":1:2147483647", "f line 9").tokensPerMinute())
                .isEqualTo(2147483647L);
        assertThatThrownBy(() -> ApiKeys.parseLine("alice:" + digest + ":1:2:x", "f line 10"))
                .hasMessageContaining("max-concurrent-requests").hasMessageContaining("f line 10");
        assertThatThrownBy(() -> ApiKeys.parseLine("alice:" + digest + ":1:2:3:4", "f line 11"))
                .hasMessageContaining("expected id:sha256-hex[:requests-per-minute[:tokens-per-minute"
                        + "[:max-concurrent-requests]]]");
        assertThatThrownBy(() -> ApiKeys.parseLine("just-a-key", "f line 6")).hasMessageContaining("expected id:");
        assertThatThrownBy(() -> ApiKeys.parseLine("bad id:" + digest, "f line 7")).hasMessageContaining("id must");
        Path file = dir.resolve("dup");
        Files.writeString(file, "a:" + digest + "\na:" + digest + "\n");
        assertThatThrownBy(() -> ApiKeys.load(List.of(), file)).hasMessageContaining("'a' is defined twice");
        assertThatThrownBy(() -> ApiKeys.load(List.of(), dir.resolve("missing")))
                .hasMessageContaining("llm.api.keys-file: cannot read");
        Files.writeString(file, "a:" + digest + "\nb:" + digest + "\n");
        assertThatThrownBy(() -> ApiKeys.load(List.of(), file)).as("one key, two ids: the second's limits never apply")
                .hasMessageContaining("'a' and 'b' have the same key").hasMessageNotContaining(digest);
    }

    /** A keys file with no key (an empty mounted Secret, only comments) fails the start: it must never open the API. */
    @Test
    void aKeysFileWithoutKeysFailsClosed(@TempDir Path dir) throws Exception {
        for (String content : List.of("", "\n\n", "# team-a:disabled\n\n")) {
            Path file = dir.resolve("keys");
            Files.writeString(file, content);
            assertThatThrownBy(() -> ApiKeys.load(List.of(), file)).hasMessageContaining("holds no key");
        }
        Path bom = dir.resolve("bom");   // some editors write a byte-order mark first
        Files.writeString(bom, "\uFEFF# keys\nalice:" + sha256Hex("k") + "\n");
        assertThat(ApiKeys.load(List.of(), bom).ids()).containsExactly("alice");
    }

    @Test
    void aKeyPrintsItsIdOnly() {
        ApiKey k = new ApiKey("alice", ApiKeys.sha256("secret"), 1L, 2L);
        assertThat(k.toString()).isEqualTo("ApiKey[alice]");
        assertThat(ApiKeys.load(List.of(), null).isEmpty()).isTrue();
    }
}
