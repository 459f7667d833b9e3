package dev.llamaserve.engine.model;

import dev.llamaserve.engine.device.DevicePlanner;
import java.time.Duration;

/**
 * Progress of {@link LlamaModel#load}, for logs. Called on the thread that runs the load's libtorch work
 * ({@link TorchThreads}), not on the caller's.
 */
public interface LoadListener {

    LoadListener NONE = p -> { };

    void progress(Progress p);

    default void loaded(Summary s) {
    }

    /**
     * @param tensor the tensor just loaded
     * @param tensorsLoaded tensors converted and on the device so far
     * @param shardsLoaded shard files whose tensors are all loaded
     * @param bytesLoaded stored (checkpoint) bytes read so far
     */
    record Progress(String tensor, int tensorsLoaded, int tensorsTotal, int shardsLoaded, int shardsTotal,
                    long bytesLoaded, long bytesTotal) {
        public double percent() {
            return bytesTotal == 0 ? 100.0 : 100.0 * bytesLoaded / bytesTotal;
        }
    }

    /**
     * @param weightBytes weights on the device: compute dtype, int8 linears (with their scales) when quantized; tied embeddings counted once, an int8 lm_head copy on top
     * @param kvCacheBytes the KV pool on the device
     */
    record Summary(DevicePlanner.DeviceInfo device, ComputeDType dtype, long weightBytes, long kvCacheBytes,
                   int kvSlots, Duration elapsed) {
    }
}
