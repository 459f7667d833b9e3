package dev.llamaserve.engine.testing;

/**
 * The device the model integration tests load the fixture on: {@code cpu}, unless the run names another with
 * {@code -Dllamaserve.test.device=gpu:0} (README, "Checks on a GPU"). Tests of CPU-only paths ignore it.
 */
public final class TestDevice {

    public static final String PROPERTY = "llamaserve.test.device";

    private TestDevice() {
    }

    /** {@code cpu} or {@code gpu:N}, as {@code ModelOptions} takes it. */
    public static String option() {
        return System.getProperty(PROPERTY, "cpu").trim();
    }

    public static boolean isCpu() {
        return option().equals("cpu");
    }

    /** For the tables the tests print: {@code CPU} or {@code CUDA gpu:N}. */
    public static String label() {
        return isCpu() ? "CPU" : "CUDA " + option();
    }
}
