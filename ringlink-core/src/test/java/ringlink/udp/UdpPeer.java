package ringlink.udp;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import ringlink.packet.PacketBatch;
import ringlink.testing.Env;

/** src/test/python/udppeer.py as a process, and the datagram pattern it checks. */
final class UdpPeer implements AutoCloseable {
    final Process p;
    final BufferedReader out;
    final int port;

    private UdpPeer(String... args) throws IOException {
        this(new String[0], args);
    }

    private UdpPeer(String[] prefix, String... args) throws IOException {
        Path py = Env.requireProgram("python3", "python3");
        Path script = Env.projectDir().resolve("src/test/python/udppeer.py");
        String[] cmd = new String[prefix.length + args.length + 2];
        System.arraycopy(prefix, 0, cmd, 0, prefix.length);
        cmd[prefix.length] = py.toString();
        cmd[prefix.length + 1] = script.toString();
        System.arraycopy(args, 0, cmd, prefix.length + 2, args.length);
        p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        out = new BufferedReader(new InputStreamReader(p.getInputStream()));
        String first = out.readLine();
        if (first == null || !first.startsWith("port ")) Assertions.fail("udppeer.py said " + first);
        port = Integer.parseInt(first.substring(5).trim());
    }

    static UdpPeer sink(String addr, int count, boolean gro) throws IOException {
        return gro ? new UdpPeer("sink", addr, Integer.toString(count), "gro")
                : new UdpPeer("sink", addr, Integer.toString(count));
    }

    /** A sink run inside network namespace {@code ns}. */
    static UdpPeer sinkIn(String ns, String addr, int count, boolean gro) throws IOException {
        String[] prefix = {"ip", "netns", "exec", ns};
        return gro ? new UdpPeer(prefix, "sink", addr, Integer.toString(count), "gro")
                : new UdpPeer(prefix, "sink", addr, Integer.toString(count));
    }

    static UdpPeer source(String addr, int port, String spec) throws IOException {
        return new UdpPeer("source", addr, Integer.toString(port), spec);
    }

    /** The peer's last line (waits for it to exit). */
    String result() throws Exception {
        if (!p.waitFor(40, TimeUnit.SECONDS)) Assertions.fail("udppeer.py did not finish");
        String last = null, l;
        StringBuilder all = new StringBuilder();
        while ((l = out.readLine()) != null) {
            last = l;
            all.append(l).append('\n');
        }
        if (p.exitValue() != 0) Assertions.fail("udppeer.py exit " + p.exitValue() + ":\n" + all);
        return last;
    }

    @Override
    public void close() {
        p.destroyForcibly();
    }

    /** Writes datagram {@code k} of {@code n} bytes as packet {@code i}. */
    static void fill(PacketBatch b, int i, int k, int n) {
        MemorySegment m = b.memory();
        long o = b.dataOffset(i);
        byte[] d = new byte[n];
        byte[] head = {(byte) (k >>> 24), (byte) (k >>> 16), (byte) (k >>> 8), (byte) k, (byte) (n >>> 8), (byte) n};
        for (int j = 0; j < n; j++) d[j] = j < 6 ? head[j] : (byte) (k * 31 + j);
        MemorySegment.copy(d, 0, m, ValueLayout.JAVA_BYTE, o, n);
        b.setLength(i, n);
    }

    /** The index k of packet {@code i} if its bytes are datagram k's pattern; fails otherwise. */
    static int check(PacketBatch b, int i) {
        byte[] d = b.data(i).toArray(ValueLayout.JAVA_BYTE);
        Assertions.assertTrue(d.length >= 6, "short datagram " + d.length);
        int k = (d[0] & 0xff) << 24 | (d[1] & 0xff) << 16 | (d[2] & 0xff) << 8 | (d[3] & 0xff);
        int n = (d[4] & 0xff) << 8 | (d[5] & 0xff);
        Assertions.assertEquals(n, d.length, "datagram " + k + " length");
        for (int j = 6; j < n; j++) {
            if (d[j] != (byte) (k * 31 + j)) Assertions.fail("datagram " + k + " byte " + j + " differs");
        }
        return k;
    }
}
