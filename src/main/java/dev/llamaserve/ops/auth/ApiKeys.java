package dev.llamaserve.ops.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The configured API keys. A presented key is hashed with SHA-256 and compared with EVERY known digest in
 * constant time ({@link MessageDigest#isEqual}), so neither the match position nor the common prefix shows
 * in the timing. Empty: the API is open.
 */
public final class ApiKeys {

    /** A keys-file line. */
    static final String LINE = "id:sha256-hex[:requests-per-minute[:tokens-per-minute[:max-concurrent-requests]]]";

    private final List<ApiKey> keys;

    public ApiKeys(List<ApiKey> keys) {
        Set<String> ids = new HashSet<>();
        Map<String, String> idByDigest = new HashMap<>();
        for (ApiKey k : keys) {
            if (!ids.add(k.id())) {
                throw new IllegalArgumentException("API key id '" + k.id() + "' is defined twice");
            }
            String other = idByDigest.putIfAbsent(HexFormat.of().formatHex(k.sha256()), k.id());
            if (other != null) {   // the key would always be the first id: the second id's limits would never apply
                throw new IllegalArgumentException("API key ids '" + other + "' and '" + k.id()
                        + "' have the same key");
            }
        }
        this.keys = List.copyOf(keys);
    }

    /**
     * The keys of {@code llm.api.keys} (plain keys, ids {@code key-1}, {@code key-2}, ... by position) and of
     * {@code llm.api.keys-file} (lines {@link #LINE}, blank lines and {@code #} comments ignored).
     */
    public static ApiKeys load(List<String> plainKeys, Path keysFile) {
        List<ApiKey> keys = new ArrayList<>();
        int n = 0;
        for (String key : plainKeys == null ? List.<String>of() : plainKeys) {
            if (key != null && !key.isBlank()) {
                keys.add(new ApiKey("key-" + (++n), sha256(key.strip()), null, null));
            }
        }
        if (keysFile != null) {
            List<ApiKey> fromFile = parseFile(keysFile);
            if (fromFile.isEmpty()) {   // an empty mounted Secret must not switch authentication off
                throw new IllegalArgumentException("llm.api.keys-file " + keysFile + " holds no key (only blank lines"
                        + " and comments): it would open the API to every client; add a key line, or remove the"
                        + " setting to run without keys");
            }
            keys.addAll(fromFile);
        }
        return new ApiKeys(keys);
    }

    static List<ApiKey> parseFile(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("llm.api.keys-file: cannot read " + file + ": " + e.getMessage(), e);
        }
        List<ApiKey> keys = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = (i == 0 && lines.get(i).startsWith("\uFEFF") ? lines.get(i).substring(1) : lines.get(i))
                    .strip();   // a byte-order mark some editors write
            if (!line.isEmpty() && !line.startsWith("#")) {
                keys.add(parseLine(line, file + " line " + (i + 1)));
            }
        }
        return keys;
    }

    /** One keys-file line; errors name the line, never its digest. */
    static ApiKey parseLine(String line, String where) {
        String[] f = line.split(":", -1);
        if (f.length < 2 || f.length > 5) {
            throw new IllegalArgumentException("llm.api.keys-file " + where + ": expected " + LINE);
        }
        String id = f[0].strip();
        if (!id.matches("[A-Za-z0-9._@-]{1,64}")) {
            throw new IllegalArgumentException("llm.api.keys-file " + where
                    + ": the id must be 1-64 of [A-Za-z0-9._@-]");
        }
        String hex = f[1].strip();
        if (!hex.matches("[0-9a-fA-F]{64}")) {
            throw new IllegalArgumentException("llm.api.keys-file " + where + " (id " + id
                    + "): the digest must be 64 hex digits (the SHA-256 of the key, not the key)");
        }
        Long rpm = f.length > 2 ? limit(f[2], where, id, "requests-per-minute") : null;
        Long tpm = f.length > 3 ? limit(f[3], where, id, "tokens-per-minute") : null;
        Long concurrent = f.length > 4 ? limit(f[4], where, id, "max-concurrent-requests") : null;
        return new ApiKey(id, HexFormat.of().parseHex(hex.toLowerCase()), rpm, tpm,
                concurrent == null ? null : concurrent.intValue());
    }

    private static Long limit(String field, String where, String id, String name) {
        String s = field.strip();
        if (s.isEmpty()) {
            return null;
        }
        try {
            long v = Long.parseLong(s);
            if (v >= 0 && v <= Integer.MAX_VALUE) {   // as llm.ratelimit.*-per-minute: a window holds an int
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("llm.api.keys-file " + where + " (id " + id + "): " + name
                + " must be a whole number in [0, 2^31) (0 = no limit), got " + s);
    }

    public boolean isEmpty() {
        return keys.isEmpty();
    }

    public List<String> ids() {
        return keys.stream().map(ApiKey::id).toList();
    }

    /** The key whose digest matches {@code presented}'s, comparing with every key in constant time. */
    public Optional<ApiKey> find(String presented) {
        byte[] digest = sha256(presented);
        ApiKey found = null;
        for (ApiKey k : keys) {
            if (MessageDigest.isEqual(digest, k.sha256()) && found == null) {
                found = k;
            }
        }
        return Optional.ofNullable(found);
    }

    public static byte[] sha256(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
