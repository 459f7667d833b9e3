package dev.llamaserve.engine.device;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Host memory the plan may give the weights and the KV pool: not the heap the JVM may still grow into. A 3.5 GiB pool
 * was accepted in a 4 GiB container whose heap could grow to 1 GiB, and the pod would have been OOM-killed as both
 * filled.
 */
class DevicePlannerTest {

    private static final long GIB = 1L << 30;

    @Test
    void theHeapStillToGrowIsNotFree() {
        // 4 GiB container, 0.3 GiB used so far (a heap of 0.25 GiB committed of at most 1 GiB)
        long free = 4 * GIB - 3 * GIB / 10;
        long planned = DevicePlanner.lessHeapToGrow(free, GIB, GIB / 4);
        assertThat(planned).isEqualTo(free - 3 * GIB / 4);
        assertThat(3 * GIB + GIB / 2).as("the 3.5 GiB pool of the report no longer fits").isGreaterThan(planned);
    }

    @Test
    void noHeapLimitOrNoFreeFigureLeavesItAsItIs() {
        assertThat(DevicePlanner.lessHeapToGrow(8 * GIB, Long.MAX_VALUE, GIB)).isEqualTo(8 * GIB);
        assertThat(DevicePlanner.lessHeapToGrow(-1, GIB, 0)).isEqualTo(-1);
        assertThat(DevicePlanner.lessHeapToGrow(GIB / 2, 2 * GIB, GIB / 4)).as("never below zero").isZero();
    }

    @Test
    void theCpuFigureIsNeverMoreThanTotal() {
        DevicePlanner.DeviceInfo cpu = DevicePlanner.cpu();
        assertThat(cpu.freeBytes()).isBetween(0L, cpu.totalBytes());
    }
}
