package dev.llamaserve.engine.grammar;

import java.util.Map;

/**
 * The supported {@code format} values, as regexes of the strings generated for them (each a subset of what the
 * format allows: dates up to the 28th of February only, no leap seconds; emails of the common dot-atom form whose
 * local part of at most 62 characters (RFC 5321 allows 64) and a domain that ends in a country-code or a common
 * generic top-level domain (validators check it against IANA's list);
 * hostnames of at most three labels; IPv6 without an embedded IPv4 part; durations with components of at most
 * nine digits).
 */
final class Formats {

    private static final String DATE = "[1-9][0-9]{3}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
            + "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))";
    private static final String TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,6})?"
            + "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";
    private static final String HEX = "[0-9a-fA-F]";
    /** A DNS label (RFC 1123): 1-63 letters, digits and inner hyphens. */
    private static final String LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    /** The two-letter country-code top-level domains in IANA's list (as commons-validator has them). */
    private static final String COUNTRY_TLDS = ""
            + "ac|ad|ae|af|ag|ai|al|am|ao|aq|ar|as|at|au|aw|ax|az|ba|bb|bd|be|bf|bg|bh|bi|bj|bm|bn|bo|br|bs|bt|"
            + "bv|bw|by|bz|ca|cc|cd|cf|cg|ch|ci|ck|cl|cm|cn|co|cr|cu|cv|cw|cx|cy|cz|de|dj|dk|dm|do|dz|ec|ee|eg|"
            + "er|es|et|eu|fi|fj|fk|fm|fo|fr|ga|gb|gd|ge|gf|gg|gh|gi|gl|gm|gn|gp|gq|gr|gs|gt|gu|gw|gy|hk|hm|hn|"
            + "hr|ht|hu|id|ie|il|im|in|io|iq|ir|is|it|je|jm|jo|jp|ke|kg|kh|ki|km|kn|kp|kr|kw|ky|kz|la|lb|lc|li|"
            + "lk|lr|ls|lt|lu|lv|ly|ma|mc|md|me|mg|mh|mk|ml|mm|mn|mo|mp|mq|mr|ms|mt|mu|mv|mw|mx|my|mz|na|nc|ne|"
            + "nf|ng|ni|nl|no|np|nr|nu|nz|om|pa|pe|pf|pg|ph|pk|pl|pm|pn|pr|ps|pt|pw|py|qa|re|ro|rs|ru|rw|sa|sb|"
            + "sc|sd|se|sg|sh|si|sj|sk|sl|sm|sn|so|sr|ss|st|su|sv|sx|sy|sz|tc|td|tf|tg|th|tj|tk|tl|tm|tn|to|tr|"
            + "tt|tv|tw|tz|ua|ug|uk|us|uy|uz|va|vc|ve|vg|vi|vn|vu|wf|ws|ye|yt|za|zm|zw";
    private static final String TLD = "(?:" + COUNTRY_TLDS
            + "|com|org|net|edu|gov|mil|int|info|biz|name|pro|app|dev|tech|online|site|xyz|cloud|email|shop|store|blog"
            + "|news|live)";
    private static final String OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    private static final String H16 = HEX + "{1,4}";
    /** RFC 4291's text forms with {@code ::} anywhere (no embedded IPv4 part). */
    private static final String IPV6 = "(?:(?:" + H16 + ":){7}" + H16
            + "|(?:" + H16 + ":){1,7}:"
            + "|(?:" + H16 + ":){1,6}:" + H16
            + "|(?:" + H16 + ":){1,5}(?::" + H16 + "){1,2}"
            + "|(?:" + H16 + ":){1,4}(?::" + H16 + "){1,3}"
            + "|(?:" + H16 + ":){1,3}(?::" + H16 + "){1,4}"
            + "|(?:" + H16 + ":){1,2}(?::" + H16 + "){1,5}"
            + "|" + H16 + ":(?::" + H16 + "){1,6}"
            + "|:(?:(?::" + H16 + "){1,7}|:))";
    private static final String N = "[0-9]{1,9}";
    /** RFC 3339 Appendix A's duration: P with a date part and/or a time part, or weeks. */
    private static final String DURATION_TIME = "T(?:" + N + "H(?:" + N + "M(?:" + N + "S)?)?|" + N + "M(?:" + N
            + "S)?|" + N + "S)";
    private static final String DURATION = "P(?:(?:" + N + "D|" + N + "M(?:" + N + "D)?|" + N + "Y(?:" + N + "M(?:" + N
            + "D)?)?)(?:" + DURATION_TIME + ")?|" + DURATION_TIME + "|" + N + "W)";

    static final Map<String, String> REGEX = Map.of(
            "date", DATE,
            "time", TIME,
            "date-time", DATE + "T" + TIME,
            "uuid", HEX + "{8}-" + HEX + "{4}-" + HEX + "{4}-" + HEX + "{4}-" + HEX + "{12}",
            "email", "[A-Za-z0-9_+-]{1,20}(?:\\.[A-Za-z0-9_+-]{1,20}){0,2}@(?:" + LABEL + "\\.){1,3}" + TLD,
            "hostname", LABEL + "(?:\\." + LABEL + "){0,2}",
            "ipv4", OCTET + "(?:\\." + OCTET + "){3}",
            "ipv6", IPV6,
            "duration", DURATION);

    private Formats() {}
}
