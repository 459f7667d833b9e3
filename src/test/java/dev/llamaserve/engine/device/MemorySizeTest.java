package dev.llamaserve.engine.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class MemorySizeTest {

    private static long bytes(String s) {
        return MemorySize.parseBytes(s, "x");
    }

    @Test
    void binaryUnits() {
        assertThat(bytes("8GiB")).isEqualTo(8L * 1024 * 1024 * 1024);
        assertThat(bytes("512MiB")).isEqualTo(512L * 1024 * 1024);
        assertThat(bytes("4KiB")).isEqualTo(4096);
        assertThat(bytes("1TiB")).isEqualTo(1L << 40);
        assertThat(bytes("8Gi")).isEqualTo(8L << 30);
        assertThat(bytes("8gib")).isEqualTo(8L << 30);
        assertThat(bytes(" 16 GiB ")).isEqualTo(16L << 30);
    }

    @Test
    void decimalUnitsAndFractions() {
        assertThat(bytes("1.5GB")).isEqualTo(1_500_000_000L);
        assertThat(bytes("2MB")).isEqualTo(2_000_000L);
        assertThat(bytes("3G")).isEqualTo(3_000_000_000L);
        assertThat(bytes("1.5GiB")).isEqualTo(1_610_612_736L);
        assertThat(bytes("0.1KiB")).isEqualTo(102);                   // 102.4 rounded down
    }

    @Test
    void plainBytes() {
        assertThat(bytes("1073741824")).isEqualTo(1L << 30);
        assertThat(bytes("100B")).isEqualTo(100);
        assertThat(bytes("0")).isZero();
    }

    @Test
    void invalidSizesNameTheSettingAndValue() {
        for (String bad : new String[] {"", "auto", "-1GiB", "8 GiBs", "1.5", "GiB", "8XB", "1e9"}) {
            assertThatThrownBy(() -> MemorySize.parseBytes(bad, "llm.engine.kv-cache-memory"))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("llm.engine.kv-cache-memory='" + bad + "' is not valid");
        }
        assertThatThrownBy(() -> bytes("99999999999TiB")).hasMessageContaining("too large");
        assertThatThrownBy(() -> bytes("1.5")).hasMessageContaining("whole");
    }

    @Test
    void format() {
        assertThat(MemorySize.format(512)).isEqualTo("512 B");
        assertThat(MemorySize.format(16L << 30)).isEqualTo("16.00 GiB");
        assertThat(MemorySize.format(16_060_522_496L)).isEqualTo("14.96 GiB");
    }

    @Test
    void kvCacheMemorySetting() {
        assertThat(KvCacheMemory.parse("auto")).isEqualTo(KvCacheMemory.AUTO);
        assertThat(KvCacheMemory.parse("AUTO").auto()).isTrue();
        assertThat(KvCacheMemory.parse(null)).isEqualTo(KvCacheMemory.AUTO);
        assertThat(KvCacheMemory.parse("8GiB")).isEqualTo(KvCacheMemory.ofBytes(8L << 30));
        assertThat(KvCacheMemory.parse("8GiB").toString()).isEqualTo("8.00 GiB");
        assertThatThrownBy(() -> KvCacheMemory.parse("0"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("llm.engine.kv-cache-memory must be auto or a positive size");
        assertThatThrownBy(() -> KvCacheMemory.parse("lots"))
                .hasMessageContaining("llm.engine.kv-cache-memory='lots' is not valid");
    }
}
