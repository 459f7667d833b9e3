package dev.llamaserve.engine.grammar;

import java.util.Map;

/**
 * The supported {@code format} values, as regexes of the strings generated for them (each a subset of
 * what the format allows: dates up to the 28th of February only, no leap seconds, emails of the
 * common dot-atom form with bounded label lengths and a few real top-level domains, which validators
 * check against the IANA list).
 */
final class Formats {

    private static final String DATE = "[1-9][0-9]{3}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
            + "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))";
    private static final String TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,6})?"
            + "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";
    private static final String HEX = "[0-9a-fA-F]";
    private static final String LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,14}[A-Za-z0-9])?";

    static final Map<String, String> REGEX = Map.of(
            "date", DATE,
            "time", TIME,
            "date-time", DATE + "T" + TIME,
            "uuid", HEX + "{8}-" + HEX + "{4}-" + HEX + "{4}-" + HEX + "{4}-" + HEX + "{12}",
            "email", "[A-Za-z0-9_+-]{1,16}(?:\\.[A-Za-z0-9_+-]{1,16}){0,2}@" + LABEL + "(?:\\." + LABEL + "){0,2}"
                    + "\\.(?:com|org|net|edu|io|dev)");

    private Formats() {}
}
