package dev.llamaserve.engine.kv.archfixture;

import ai.djl.ndarray.types.Shape;

/** Deliberately breaks the rule "kv is pure Java (no DJL)"; only ArchitectureTest looks at it. */
public class KvUsingDjl {
    public Shape blockShape(int blockSize) {
        return new Shape(blockSize);
    }
}
