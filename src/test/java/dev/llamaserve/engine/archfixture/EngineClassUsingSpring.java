package dev.llamaserve.engine.archfixture;

import org.springframework.util.StringUtils;

/** Deliberately breaks the rule "engine does not use Spring"; only ArchitectureTest looks at it. */
public class EngineClassUsingSpring {
    public boolean blank(String s) {
        return !StringUtils.hasText(s);
    }
}
