package dev.llamaserve.api.openai.archfixture;

import dev.llamaserve.ops.limits.RateLimits;

/** Deliberately breaks the rule "api does not depend on ops"; only ArchitectureTest looks at it. */
public class ApiCallingOpsDirectly {
    public RateLimits limits(RateLimits limits) {
        return limits;
    }
}
