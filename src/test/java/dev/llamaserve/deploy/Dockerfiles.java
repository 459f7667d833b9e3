package dev.llamaserve.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A Dockerfile as instructions: comments dropped, continuation lines joined, global ARG defaults known. */
record Dockerfiles(List<Instruction> instructions) {

    record Instruction(String keyword, String arguments) {}

    /** One build stage: its base image (ARGs resolved), its name, and its instructions. */
    record Stage(String image, String name, List<Instruction> instructions) {

        List<String> all(String keyword) {
            return instructions.stream().filter(i -> i.keyword().equals(keyword)).map(Instruction::arguments).toList();
        }
    }

    static Dockerfiles read(Path file) throws IOException {
        List<Instruction> instructions = new ArrayList<>();
        StringBuilder pending = new StringBuilder();
        for (String line : Files.readAllLines(file)) {
            String trimmed = line.strip();
            if (trimmed.startsWith("#") || (trimmed.isEmpty() && pending.isEmpty())) {
                continue;
            }
            boolean continues = trimmed.endsWith("\\");
            pending.append(continues ? trimmed.substring(0, trimmed.length() - 1) : trimmed).append(' ');
            if (!continues) {
                String text = pending.toString().strip();
                int space = text.indexOf(' ');
                instructions.add(new Instruction(text.substring(0, space).toUpperCase(), text.substring(space + 1).strip()));
                pending.setLength(0);
            }
        }
        return new Dockerfiles(List.copyOf(instructions));
    }

    /** ARG defaults declared before the first FROM (the ones FROM lines may use). */
    Map<String, String> globalArgs() {
        Map<String, String> args = new LinkedHashMap<>();
        for (Instruction i : instructions) {
            if (i.keyword().equals("FROM")) {
                break;
            }
            if (i.keyword().equals("ARG") && i.arguments().contains("=")) {
                String[] kv = i.arguments().split("=", 2);
                args.put(kv[0], kv[1]);
            }
        }
        return args;
    }

    List<Stage> stages() {
        List<Stage> stages = new ArrayList<>();
        Pattern variable = Pattern.compile("\\$\\{?(\\w+)}?");
        for (Instruction i : instructions) {
            if (i.keyword().equals("FROM")) {
                String[] words = i.arguments().split("\\s+");
                Matcher m = variable.matcher(words[0]);
                String image = m.replaceAll(r -> Matcher.quoteReplacement(globalArgs().getOrDefault(r.group(1), r.group())));
                String name = words.length >= 3 && words[1].equalsIgnoreCase("AS") ? words[2] : null;
                stages.add(new Stage(image, name, new ArrayList<>()));
            } else if (!stages.isEmpty()) {
                stages.get(stages.size() - 1).instructions().add(i);
            }
        }
        return stages;
    }

    Stage finalStage() {
        List<Stage> stages = stages();
        return stages.get(stages.size() - 1);
    }

    /** ENV of a stage as name → value (both KEY=value forms, quotes removed). */
    static Map<String, String> env(Stage stage) {
        Map<String, String> env = new LinkedHashMap<>();
        Matcher m = Pattern.compile("(\\w+)=(\"[^\"]*\"|\\S+)").matcher("");
        for (String args : stage.all("ENV")) {
            m.reset(args);
            while (m.find()) {
                env.put(m.group(1), m.group(2).replaceAll("^\"|\"$", ""));
            }
        }
        return env;
    }
}
