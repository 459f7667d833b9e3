package dev.llamaserve.ops.metrics;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The samples of a Prometheus text scrape: series (name and labels, as written) → value. */
record PrometheusScrape(String text, Map<String, Double> samples) {

    static PrometheusScrape parse(String text) {
        Map<String, Double> samples = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
        }
        return new PrometheusScrape(text, samples);
    }

    /** The value of one series, failing when it is not there. */
    double value(String series) {
        Double v = samples.get(series);
        if (v == null) {
            throw new AssertionError("no series " + series + " in the scrape; similar: " + similar(series));
        }
        return v;
    }

    /** The value of a series, 0 when absent (a counter not yet created). */
    double valueOr0(String series) {
        return samples.getOrDefault(series, 0.0);
    }

    /** The metric family names the scrape declares ({@code # TYPE name type}). */
    List<String> families() {
        return text.lines().filter(l -> l.startsWith("# TYPE ")).map(l -> l.split(" ")[2]).toList();
    }

    private List<String> similar(String series) {
        String name = series.contains("{") ? series.substring(0, series.indexOf('{')) : series;
        return samples.keySet().stream().filter(k -> k.startsWith(name.substring(0, Math.min(name.length(), 12))))
                .limit(20).toList();
    }
}
