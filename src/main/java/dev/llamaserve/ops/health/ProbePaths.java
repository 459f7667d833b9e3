package dev.llamaserve.ops.health;

/** The probe paths served on the main port; the Helm chart and k8s manifests use the same. */
public final class ProbePaths {
    public static final String LIVEZ = "/livez";
    public static final String READYZ = "/readyz";

    private ProbePaths() {}
}
