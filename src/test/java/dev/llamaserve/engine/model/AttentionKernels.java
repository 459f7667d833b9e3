package dev.llamaserve.engine.model;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The attention of {@code llama_step.py} ({@code attend}, {@code write_kv}) called on its own, next to the
 * gathered attention it replaced ({@code gathered_attention.py}), on a random paged KV cache: for
 * {@link PagedAttentionTest} and {@link PagedAttentionBenchmark}.
 */
final class AttentionKernels implements AutoCloseable {

    /** One sequence: its pages (block table), context length and new tokens (the last {@code ql} positions). */
    record Seq(int[] pages, int contextLen, int queryLen) {}

    /** What {@link #paged} tiles against unless {@link #useWorkspace} says otherwise: tiles of up to chunkPages. */
    static final AttentionWorkspace LARGE = new AttentionWorkspace(8192, 4L << 20, 1L << 20);

    final PtNDManager manager;
    private final PtSymbolBlock step;
    private final PtSymbolBlock gathered;
    private AttentionWorkspace sizes = LARGE;
    private final java.util.Map<String, IValue> workspaces = new java.util.HashMap<>();

    AttentionKernels() {
        manager = (PtNDManager) NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch");
        step = LlamaModel.script(manager);
        gathered = TorchScriptArchive.load(manager, "/dev/llamaserve/engine/model/gathered_attention.py",
                "GatheredAttention");
    }

    PtNDArray random(SplittableRandom rnd, int... shape) {
        long n = 1;
        for (int s : shape) {
            n *= s;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rnd.nextGaussian());
        }
        return (PtNDArray) manager.create(v, new Shape(toLong(shape)));
    }

    PtNDArray cast(PtNDArray x, int torchCode) {
        try (IValue a = IValue.from(x); IValue r = IValueUtils.runMethod(gathered, "cast", a, IValue.from((long) torchCode))) {
            return r.toTensor(manager);
        }
    }

    /** The new tokens' positions, sequence after sequence: [T]. */
    static long[] positions(List<Seq> seqs) {
        List<Long> p = new ArrayList<>();
        for (Seq s : seqs) {
            for (int i = s.contextLen() - s.queryLen(); i < s.contextLen(); i++) {
                p.add((long) i);
            }
        }
        return p.stream().mapToLong(Long::longValue).toArray();
    }

    /** Old path: per sequence gather of its context slots, SDPA with a [ql, C] mask. q: [T, NH, D] -> [T, NH, D]. */
    PtNDArray gathered(PtNDArray q, PtNDArray k, PtNDArray v, List<Seq> seqs, int pageSize) {
        long[] qs = new long[seqs.size()];
        long[] ql = new long[seqs.size()];
        long[] cs = new long[seqs.size()];
        long[] cl = new long[seqs.size()];
        List<Long> slots = new ArrayList<>();
        long row = 0;
        for (int b = 0; b < seqs.size(); b++) {
            Seq s = seqs.get(b);
            qs[b] = row;
            ql[b] = s.queryLen();
            cs[b] = slots.size();
            cl[b] = s.contextLen();
            for (int p = 0; p < s.contextLen(); p++) {
                slots.add((long) s.pages()[p / pageSize] * pageSize + p % pageSize);
            }
            row += s.queryLen();
        }
        PtNDArray ctx = (PtNDArray) manager.create(slots.stream().mapToLong(Long::longValue).toArray());
        PtNDArray pos = (PtNDArray) manager.create(positions(seqs));
        try (IValue r = IValueUtils.runMethod(gathered, "attend", IValue.from(q), IValue.from(k), IValue.from(v),
                IValue.from(pos), IValue.listFrom(qs), IValue.listFrom(ql), IValue.from(ctx), IValue.listFrom(cs),
                IValue.listFrom(cl))) {
            return r.toTensor(manager);
        }
    }

    /**
     * New path, grouped as {@code step} groups it: the one-token sequences in one {@code attend} call, each longer
     * one in its own. q: [T, NH, D] -> [T, NH, D] as a float array.
     */
    float[] paged(PtNDArray q, PtNDArray k, PtNDArray v, PtNDArray ks, PtNDArray vs, List<Seq> seqs, int pageSize,
                  int chunkPages, boolean fp8) {
        long nh = q.getShape().get(1);
        long d = q.getShape().get(2);
        float[] out = new float[(int) (q.getShape().get(0) * nh * d)];
        long[] pos = positions(seqs);
        List<Integer> decode = new ArrayList<>();
        int width = 0;
        int[] rowOf = new int[seqs.size()];
        for (int b = 0, row = 0; b < seqs.size(); b++) {
            rowOf[b] = row;
            row += seqs.get(b).queryLen();
            width = Math.max(width, seqs.get(b).pages().length);
            if (seqs.get(b).queryLen() == 1) {
                decode.add(b);
            }
        }
        if (!decode.isEmpty()) {
            long[] table = new long[decode.size() * width];
            long[] qpos = new long[decode.size()];
            long[] rows = new long[decode.size()];
            int most = 0;
            for (int i = 0; i < decode.size(); i++) {
                Seq s = seqs.get(decode.get(i));
                for (int p = 0; p < s.pages().length; p++) {
                    table[i * width + p] = s.pages()[p];
                }
                most = Math.max(most, (s.contextLen() + pageSize - 1) / pageSize);
                qpos[i] = pos[rowOf[decode.get(i)]];
                rows[i] = rowOf[decode.get(i)];
            }
            PtNDArray qd = (PtNDArray) q.get(manager.create(rows)).reshape(decode.size(), 1, nh, d);
            float[] o = attend(qd, k, v, ks, vs, table, decode.size(), width, qpos, 1, most, pageSize, chunkPages, fp8);
            for (int i = 0; i < decode.size(); i++) {
                System.arraycopy(o, (int) (i * nh * d), out, (int) (rows[i] * nh * d), (int) (nh * d));
            }
        }
        for (int b = 0; b < seqs.size(); b++) {
            Seq s = seqs.get(b);
            if (s.queryLen() == 1) {
                continue;
            }
            long[] table = java.util.Arrays.stream(s.pages()).asLongStream().toArray();
            long[] qpos = java.util.Arrays.copyOfRange(pos, rowOf[b], rowOf[b] + s.queryLen());
            PtNDArray qb = (PtNDArray) q.get(rowOf[b] + ":" + (rowOf[b] + s.queryLen())).reshape(1, s.queryLen(), nh, d);
            float[] o = attend(qb, k, v, ks, vs, table, 1, table.length, qpos, s.queryLen(),
                    (s.contextLen() + pageSize - 1) / pageSize, pageSize, chunkPages, fp8);
            System.arraycopy(o, 0, out, (int) (rowOf[b] * nh * d), o.length);
        }
        return out;
    }

    private float[] attend(PtNDArray q, PtNDArray k, PtNDArray v, PtNDArray ks, PtNDArray vs, long[] table, int b,
                           int width, long[] qpos, int ql, int numPages, int pageSize, int chunkPages, boolean fp8) {
        PtNDArray pages = (PtNDArray) manager.create(table, new Shape(b, width));
        PtNDArray qp = (PtNDArray) manager.create(qpos, new Shape(b, ql));
        IValue work = workspace(k.getShape().get(1), k.getShape().get(2), k, fp8);
        try (IValue r = IValueUtils.runMethod(step, "attend", IValue.from(q), IValue.from(k), IValue.from(v),
                IValue.from(ks), IValue.from(vs), IValue.from(pages), IValue.from(qp), IValue.from((long) numPages),
                IValue.from((long) pageSize), IValue.from((long) chunkPages), IValue.from(fp8), work)) {
            PtNDArray o = r.toTensor(manager);
            return (o.getDataType() == ai.djl.ndarray.types.DataType.FLOAT32 ? o : cast(o, 6)).toFloatArray();
        }
    }

    /** The workspace sizes later {@link #paged} calls tile against. */
    void useWorkspace(AttentionWorkspace ws) {
        sizes = ws;
    }

    private IValue workspace(long kvh, long d, PtNDArray cache, boolean fp8) {
        KvCacheDType kv = fp8 ? KvCacheDType.FLOAT8_E4M3 : switch (cache.getDataType()) {
            case FLOAT32 -> KvCacheDType.FLOAT32;
            case FLOAT16 -> KvCacheDType.FLOAT16;
            default -> KvCacheDType.BFLOAT16;
        };
        return workspaces.computeIfAbsent(sizes + "/" + kvh + "/" + d + "/" + kv,
                key -> sizes.create(step, (int) kvh, (int) d, kv, "cpu"));
    }

    /** {@code write_kv}: x [T, KVH, D] into cache rows {@code slots} (float8 with its scales when {@code fp8}). */
    void write(PtNDArray cache, PtNDArray scales, long[] slots, PtNDArray x, boolean fp8) {
        try (IValue r = IValueUtils.runMethod(step, "write_kv", IValue.from(cache), IValue.from(scales),
                IValue.from((PtNDArray) manager.create(slots)), IValue.from(x), IValue.from(fp8))) {
            // in place
        }
    }

    PtNDArray newCache(int slots, int kvh, int d, int torchCode) {
        try (IValue r = IValueUtils.runMethod(step, "new_cache", IValue.from((long) slots), IValue.from((long) kvh),
                IValue.from((long) d), IValue.from((long) torchCode), IValue.from("cpu"), IValue.from(false))) {
            return r.toTensor(manager);
        }
    }

    PtNDArray newScales(int slots, int kvh) {
        try (IValue r = IValueUtils.runMethod(step, "new_scales", IValue.from((long) slots), IValue.from((long) kvh),
                IValue.from("cpu"), IValue.from(false))) {
            return r.toTensor(manager);
        }
    }

    private static long[] toLong(int[] v) {
        long[] o = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            o[i] = v[i];
        }
        return o;
    }

    @Override
    public void close() {
        workspaces.values().forEach(IValue::close);
        step.close();
        gathered.close();
        manager.close();
    }
}
