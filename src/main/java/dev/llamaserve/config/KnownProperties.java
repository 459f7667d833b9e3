package dev.llamaserve.config;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The {@code llm.*} property names the application binds, read from the configuration metadata that
 * spring-boot-configuration-processor generates from every {@code @ConfigurationProperties} class
 * ({@code META-INF/spring-configuration-metadata.json}, plus {@code additional-spring-configuration-metadata.json}
 * if any), so a property added anywhere is known without being listed here.
 *
 * @param names every known property, in canonical form ({@code llm.engine.max-num-seqs})
 * @param prefixes properties of Map type: any name below them is known ({@code llm.x.map.some-key})
 * @param groups the property groups below {@code llm} ({@code llm.engine}, {@code llm.ops}, ...)
 */
record KnownProperties(List<String> names, List<String> prefixes, List<String> groups) {

    static final String ROOT = "llm";
    private static final List<String> METADATA = List.of("META-INF/spring-configuration-metadata.json",
            "META-INF/additional-spring-configuration-metadata.json");

    static KnownProperties load(ClassLoader loader) {
        TreeSet<String> names = new TreeSet<>();
        TreeSet<String> prefixes = new TreeSet<>();
        TreeSet<String> groups = new TreeSet<>();
        JsonMapper json = JsonMapper.builder().build();
        for (String resource : METADATA) {
            for (URL url : resources(loader, resource)) {
                JsonNode root;
                try (InputStream in = url.openStream()) {
                    root = json.readTree(in);
                } catch (IOException e) {
                    throw new IllegalStateException("cannot read " + url + ": " + e.getMessage(), e);
                }
                for (JsonNode p : root.path("properties")) {
                    String name = p.path("name").asString("");
                    if (name.startsWith(ROOT + ".")) {
                        names.add(name);
                        if (p.path("type").asString("").startsWith("java.util.Map<")) {
                            prefixes.add(name);
                        }
                    }
                }
                for (JsonNode g : root.path("groups")) {
                    String name = g.path("name").asString("");
                    if (name.startsWith(ROOT + ".")) {
                        groups.add(name);
                    }
                }
            }
        }
        return new KnownProperties(List.copyOf(names), List.copyOf(prefixes), List.copyOf(groups));
    }

    private static List<URL> resources(ClassLoader loader, String name) {
        try {
            Enumeration<URL> urls = loader.getResources(name);
            return Collections.list(urls);
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + name + ": " + e.getMessage(), e);
        }
    }

    /** Whether {@code name} (any relaxed form: dashes, camelCase, underscores, {@code [0]} indices) is known. */
    boolean knows(String name) {
        String u = uniform(name);
        for (String known : names) {
            if (uniform(known).equals(u)) {
                return true;
            }
        }
        for (String prefix : prefixes) {
            if (u.startsWith(uniform(prefix) + ".")) {
                return true;
            }
        }
        return false;
    }

    /** Whether an environment variable ({@code LLM_ENGINE_MAX_NUM_SEQS}) is a known property. */
    boolean knowsVariable(String variable) {
        String v = variable.toUpperCase(Locale.ROOT);
        for (String known : names) {
            for (String form : variableForms(known)) {
                if (v.equals(form) || v.startsWith(form + "_") && isIndexedOrMap(known, v.substring(form.length() + 1))) {
                    return true;
                }
            }
        }
        return false;
    }

    private boolean isIndexedOrMap(String known, String rest) {
        return prefixes.contains(known) || rest.chars().allMatch(Character::isDigit);
    }

    /** Whether an environment variable lies inside a known group ({@code LLM_ENGINE_...}), so it must be known. */
    boolean inKnownGroup(String variable) {
        String v = variable.toUpperCase(Locale.ROOT);
        for (String group : groups) {
            if (v.startsWith(variableForms(group).get(0) + "_")) {
                return true;
            }
        }
        return false;
    }

    /** The known property nearest to {@code name} by edit distance (on the uniform forms). */
    String nearest(String name) {
        String u = uniform(name);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String known : names) {
            int d = editDistance(u, uniform(known));
            if (d < bestDistance) {
                best = known;
                bestDistance = d;
            }
        }
        return best;
    }

    /**
     * The environment variables Spring binds a property from: {@code llm.engine.max-num-seqs} →
     * {@code LLM_ENGINE_MAXNUMSEQS} and (dashes as underscores) {@code LLM_ENGINE_MAX_NUM_SEQS}.
     */
    static List<String> variableForms(String name) {
        String upper = name.replace('.', '_').toUpperCase(Locale.ROOT);
        return List.of(upper.replace("-", ""), upper.replace('-', '_'));
    }

    /** A property name as Spring compares it: lower case, no dashes or underscores, no list indices. */
    static String uniform(String name) {
        StringBuilder out = new StringBuilder();
        String plain = name.replaceAll("\\[[^]]*]", "");
        for (char c : plain.toCharArray()) {
            if (c != '-' && c != '_') {
                out.append(Character.toLowerCase(c));
            }
        }
        return out.toString();
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(substitute, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
