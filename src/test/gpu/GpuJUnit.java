import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.ArrayList;
import java.util.List;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.ClassSelector;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

/** Runs the named test classes and prints each test's result (the device machine has no Maven). */
public final class GpuJUnit {
    public static void main(String[] args) {
        List<ClassSelector> sel = new ArrayList<>();
        for (String a : args) {
            sel.add(selectClass(a));
        }
        LauncherDiscoveryRequest req = LauncherDiscoveryRequestBuilder.request().selectors(sel).build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        TestExecutionListener each = new TestExecutionListener() {
            @Override
            public void executionSkipped(TestIdentifier t, String reason) {
                System.out.println("SKIPPED " + t.getDisplayName() + " : " + reason);
            }

            @Override
            public void executionFinished(TestIdentifier t, TestExecutionResult r) {
                if (t.isTest() || r.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                    String parent = t.getParentId().orElse("");
                    int i = parent.lastIndexOf("[class:");
                    String cls = i >= 0 ? parent.substring(i + 7, parent.indexOf(']', i)) : "";
                    cls = cls.substring(cls.lastIndexOf('.') + 1);
                    System.out.println(r.getStatus() + " " + cls + " " + t.getDisplayName()
                            + r.getThrowable().map(e -> " : " + e.toString().lines().limit(6)
                                    .reduce((x, y) -> x + " | " + y).orElse("")).orElse(""));
                }
            }
        };
        launcher.execute(req, summary, each);
        var s = summary.getSummary();
        System.out.printf("TOTAL tests %d, succeeded %d, failed %d, aborted (skipped by assumption) %d, skipped %d%n",
                s.getTestsFoundCount(), s.getTestsSucceededCount(), s.getTestsFailedCount(),
                s.getTestsAbortedCount(), s.getTestsSkippedCount());
        s.getFailures().forEach(f -> {
            System.out.println("FAILURE " + f.getTestIdentifier().getDisplayName());
            f.getException().printStackTrace(System.out);
        });
        System.exit(s.getTotalFailureCount() == 0 ? 0 : 1);
    }
}
