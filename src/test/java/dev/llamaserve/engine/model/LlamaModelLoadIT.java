package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.device.DevicePlanner;
import dev.llamaserve.engine.testing.LogCapture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Loading (progress, device and dtype resolution) and the checks {@link LlamaModel#forward} makes on a batch. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LlamaModelLoadIT {

    private final List<LoadListener.Progress> progress = new ArrayList<>();
    private final List<LoadListener.Summary> summaries = new ArrayList<>();
    private LlamaModel model;

    @BeforeAll
    void load() {
        model = LlamaModel.load(Checkpoint.open(TinyFixture.dir()), new ModelOptions("auto", "float32", 128, 32),
                new LoadListener() {
                    @Override
                    public void progress(Progress p) {
                        progress.add(p);
                    }

                    @Override
                    public void loaded(Summary s) {
                        summaries.add(s);
                    }
                });
    }

    @AfterAll
    void close() {
        model.close();
    }

    @Test
    void autoDeviceIsTheCpuWithoutCudaAndReportsProgress() {
        assertThat(DevicePlanner.gpuCount()).as("this machine's libtorch is the CPU build").isZero();
        assertThat(model.device().kind()).isEqualTo(DevicePlanner.Kind.CPU);
        assertThat(model.kvSlots()).isEqualTo(128);
        assertThat(progress).hasSize(21);
        LoadListener.Progress last = progress.get(progress.size() - 1);
        assertThat(last.tensorsLoaded()).isEqualTo(21);
        assertThat(last.shardsLoaded()).isEqualTo(2).isEqualTo(last.shardsTotal());
        assertThat(last.bytesLoaded()).isEqualTo(393856).isEqualTo(last.bytesTotal());
        assertThat(last.percent()).isEqualTo(100.0);
        assertThat(progress.get(0).percent()).isLessThan(100.0);
        assertThat(summaries).hasSize(1);
        LoadListener.Summary s = summaries.get(0);
        assertThat(s.dtype()).isEqualTo(ComputeDType.FLOAT32);
        assertThat(s.weightBytes()).isEqualTo(model.config().parameterCount() * 4);
        assertThat(s.kvCacheBytes()).isEqualTo(128 * model.config().kvElementsPerToken() * 4);
    }

    @Test
    void aLoadLeavesNoMappingOfItsCheckpoint() throws Exception {
        // each tensor is mapped, copied and unmapped at once (Checkpoint.unmap), not left to the collector, which kept
        // every file page read in the RSS until it ran; against the mappings before, as other tests map the fixture too
        Path maps = Path.of("/proc/self/maps");
        Assumptions.assumeTrue(Files.isReadable(maps), "needs Linux's /proc/self/maps");
        List<String> before = shardMappings(maps);
        List<String> during;
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()), ModelOptions.of("cpu", "bfloat16", 8),
                null)) {
            during = shardMappings(maps);
            assertThat(m.forward(ForwardBatch.contiguous(new int[] {1, 2}, 0, false))).hasSize(m.config().vocabSize());
        }
        assertThat(during).as("mappings of the fixture's shards while a model of it is loaded").isSubsetOf(before);
    }

    private static List<String> shardMappings(Path maps) throws IOException {
        return Files.readAllLines(maps).stream()
                .filter(l -> l.contains(TinyFixture.dir().toString()) && l.endsWith(".safetensors")).toList();
    }

    @Test
    void gpuWithoutCudaFailsAtLoadWithAnExplanation() {
        assertThatThrownBy(() -> LlamaModel.load(Checkpoint.open(TinyFixture.dir()),
                ModelOptions.of("gpu:0", "auto", 16), LoadListener.NONE))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("gpu:0").hasMessageContaining("PYTORCH_LIBRARY_PATH")
                .hasMessageContaining("PYTORCH_FLAVOR");
    }

    @Test
    void autoDtypeIsBfloat16OnCudaAndTheMeasuredChoiceOnCpu() {
        var cuda = new DevicePlanner.DeviceInfo(DevicePlanner.Kind.CUDA, 0, 1L << 40, 1L << 40);
        assertThat(LlamaModel.resolveDType("auto", cuda, "bfloat16")).isEqualTo(ComputeDType.BFLOAT16);
        assertThat(LlamaModel.resolveDType("auto", cuda, "float32")).isEqualTo(ComputeDType.BFLOAT16);
        assertThat(LlamaModel.resolveDType("auto", cuda, "float16")).as("a float16 checkpoint keeps its bits")
                .isEqualTo(ComputeDType.FLOAT16);
        assertThat(LlamaModel.resolveDType("auto", DevicePlanner.cpu(), "bfloat16")).isEqualTo(ComputeDType.BFLOAT16);
        assertThat(LlamaModel.resolveDType("auto", DevicePlanner.cpu(), "float16")).isEqualTo(ComputeDType.BFLOAT16);
        assertThat(LlamaModel.resolveDType("float16", cuda, "bfloat16")).isEqualTo(ComputeDType.FLOAT16);
        assertThat(LlamaModel.resolveDType("bfloat16", cuda, "float16")).isEqualTo(ComputeDType.BFLOAT16);
    }

    @Test
    void float16OnTheCpuWarnsThatBfloat16IsFaster() {
        try (LogCapture log = LogCapture.of(LlamaModelLoader.class)) {
            LlamaModel.load(Checkpoint.open(TinyFixture.dir()), new ModelOptions("cpu", "float16", 64, 16),
                    LoadListener.NONE).close();
            assertThat(warnings(log)).singleElement().asString()
                    .contains("llm.model.dtype=float16").contains("no faster than bfloat16");
        }
        try (LogCapture log = LogCapture.of(LlamaModelLoader.class)) {
            LlamaModel.load(Checkpoint.open(TinyFixture.dir()), new ModelOptions("cpu", "bfloat16", 64, 16),
                    LoadListener.NONE).close();
            assertThat(log.text()).contains("Loaded");   // the capture saw this load
            assertThat(warnings(log)).isEmpty();
        }
    }

    private static List<String> warnings(LogCapture log) {
        return log.events().stream().filter(e -> e.getLevel() == Level.WARN)
                .map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Test
    void cpuMemoryIsReported() {
        DevicePlanner.DeviceInfo cpu = DevicePlanner.cpu();
        assertThat(cpu.totalBytes()).isPositive();
        assertThat(cpu.freeBytes()).isPositive().isLessThanOrEqualTo(cpu.totalBytes());
        assertThat(cpu.torchDevice()).isEqualTo("cpu");
    }

    @Test
    void optionsAreValidated() {
        assertThatThrownBy(() -> ModelOptions.of("tpu", "auto", 16)).hasMessageContaining("tpu");
        assertThatThrownBy(() -> ModelOptions.of("cpu", "int8", 16)).hasMessageContaining("int8");
        assertThatThrownBy(() -> ModelOptions.of("cpu", "auto", 0)).hasMessageContaining("kvCacheTokens");
        assertThat(ModelOptions.of(" GPU:1 ", "BFloat16", 16).device()).isEqualTo("gpu:1");
    }

    @Test
    void batchOutsideThePoolOrVocabularyIsRefusedBeforeLibtorch() {
        int[] ids = {1, 2, 3};
        ForwardBatch ok = ForwardBatch.contiguous(ids, 0, true);
        assertThat(model.forward(ok)).hasSize(3 * 768);
        assertThatThrownBy(() -> model.forward(ForwardBatch.contiguous(new int[] {768}, 0, false)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tokenIds[0] = 768");
        assertThatThrownBy(() -> model.forward(ForwardBatch.contiguous(new int[] {5}, 128, false)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("slotMapping[0] = 128");
        assertThatThrownBy(() -> model.forward(ForwardBatch.contiguous(new int[33], 0, false)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxChunkTokens");
        // a token written to a slot other than the one its position reads
        assertThatThrownBy(() -> model.forward(new ForwardBatch(new int[] {1}, new int[] {0}, new int[] {7},
                new int[] {0}, new int[] {1}, new int[][] {{3}}, new int[] {0})))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("contextSlots[0]");
        assertThatThrownBy(() -> model.forward(new ForwardBatch(new int[] {1}, new int[] {0}, new int[] {0},
                new int[] {0}, new int[] {1}, new int[][] {{0}}, new int[] {1})))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("logitRows");
        // two new tokens of one sequence at positions 0 and 2, not its context's last two (attention reads the pages
        // up to each query block's last position, counted back from the context's end)
        assertThatThrownBy(() -> model.forward(new ForwardBatch(new int[] {1, 2}, new int[] {0, 2}, new int[] {0, 2},
                new int[] {0}, new int[] {2}, new int[][] {{0, 1, 2}}, new int[] {1})))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("consecutive");
        // a cached position whose slot lies outside the pool
        assertThatThrownBy(() -> model.forward(new ForwardBatch(new int[] {1}, new int[] {1}, new int[] {1},
                new int[] {0}, new int[] {1}, new int[][] {{128, 1}}, new int[] {0})))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("context slot 128");
        // a context that does not lie in whole 16-slot pages (attention reads it page by page)
        assertThatThrownBy(() -> model.forward(new ForwardBatch(new int[] {1}, new int[] {1}, new int[] {6},
                new int[] {0}, new int[] {1}, new int[][] {{5, 6}}, new int[] {0})))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("16-slot page");
        assertThatThrownBy(() -> model.forward(new ForwardBatch(new int[] {1}, new int[] {1}, new int[] {33},
                new int[] {0}, new int[] {1}, new int[][] {{16, 33}}, new int[] {0})))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not in its page's slot 17");
    }

    @Test
    void logitsGoIntoTheCallersArrayOfExactlyTheirLengthElseIntoANewOne() {
        ForwardBatch batch = ForwardBatch.contiguous(new int[] {1, 2, 3}, 0, true);
        float[] fresh = model.forward(batch);
        float[] reuse = new float[fresh.length];
        Arrays.fill(reuse, Float.NaN);
        assertThat(model.forward(batch, reuse)).isSameAs(reuse).containsExactly(fresh);
        float[] longer = new float[fresh.length + 1];
        assertThat(model.forward(batch, longer)).isNotSameAs(longer).containsExactly(fresh);
    }

    @Test
    void closedModelRefusesToRun() {
        LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()), ModelOptions.of("cpu", "float32", 8),
                LoadListener.NONE);
        m.close();
        m.close();
        assertThatThrownBy(() -> m.forward(ForwardBatch.contiguous(new int[] {1}, 0, false)))
                .isInstanceOf(IllegalStateException.class);
    }
}
