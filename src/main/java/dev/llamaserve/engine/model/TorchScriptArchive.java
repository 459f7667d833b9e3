package dev.llamaserve.engine.model;

import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Builds a TorchScript archive around TorchScript source shipped as a resource and loads it with libtorch,
 * which compiles the source: {@code NAME/data.pkl} (a pickled object of class {@code __torch__.CLASS} with
 * state {@code {"training": False}}), {@code NAME/code/__torch__.py}, {@code NAME/constants.pkl} (empty
 * tuple), {@code NAME/version} (4).
 */
final class TorchScriptArchive {

    private TorchScriptArchive() {
    }

    static PtSymbolBlock load(PtNDManager manager, String resource, String className) {
        return load(manager, className, java.util.List.of(resource));
    }

    /** The class's source is the resources one after another (the later ones add methods, indented as class body). */
    static PtSymbolBlock load(PtNDManager manager, String className, java.util.List<String> resources) {
        StringBuilder source = new StringBuilder();
        for (String resource : resources) {
            source.append(read(resource));
        }
        Path zip = null;
        try {
            zip = Files.createTempFile("llama-serve-", ".pt");
            write(zip, "llama", className, source.toString());
            return JniUtils.loadModule(manager, zip, true, new String[0], new String[0], false);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the TorchScript archive: " + e.getMessage(), e);
        } finally {
            if (zip != null) {
                try {
                    Files.deleteIfExists(zip);
                } catch (IOException ignored) {
                    // a temp file left behind is harmless
                }
            }
        }
    }

    private static String read(String resource) {
        try (InputStream in = TorchScriptArchive.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("TorchScript resource " + resource + " missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + resource, e);
        }
    }

    static void write(Path zip, String name, String className, String source) throws IOException {
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip))) {
            entry(out, name + "/data.pkl", dataPkl(className));
            entry(out, name + "/code/__torch__.py", source.getBytes(StandardCharsets.UTF_8));
            entry(out, name + "/constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});
            entry(out, name + "/version", "4\n".getBytes(StandardCharsets.US_ASCII));
        }
    }

    /** Pickle protocol 2 of {@code __torch__.<className>()} with {@code __setstate__({"training": False})}. */
    static byte[] dataPkl(String className) {
        byte[] global = ("c__torch__\n" + className + "\n").getBytes(StandardCharsets.US_ASCII);
        byte[] key = "training".getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(2 + global.length + 4 + 5 + key.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x80).put((byte) 2);              // PROTO 2
        b.put(global);                                 // GLOBAL __torch__.<className>
        b.put((byte) ')').put((byte) 0x81);            // EMPTY_TUPLE, NEWOBJ
        b.put((byte) '}').put((byte) '(');             // EMPTY_DICT, MARK
        b.put((byte) 'X').putInt(key.length).put(key); // BINUNICODE "training"
        b.put((byte) 0x89);                            // NEWFALSE
        b.put((byte) 'u').put((byte) 'b').put((byte) '.');   // SETITEMS, BUILD, STOP
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    private static void entry(ZipOutputStream out, String name, byte[] bytes) throws IOException {
        out.putNextEntry(new ZipEntry(name));
        out.write(bytes);
        out.closeEntry();
    }

}
