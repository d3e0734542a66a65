package ringlink.testing.qemu;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

/**
 * Writes a cpio archive in the "newc" format (the one the kernel unpacks as an initramfs).
 * Entries are written as given; parent directories are added on demand so callers can add
 * files by path. No root needed: device nodes and ownership are just header fields.
 */
final class Cpio implements AutoCloseable {
    static final int S_IFDIR = 0040000, S_IFREG = 0100000, S_IFLNK = 0120000, S_IFCHR = 0020000;

    private final OutputStream out;
    private final Set<String> dirs = new HashSet<>();
    private long written;
    private int ino = 1;

    Cpio(OutputStream out) {
        this.out = out;
        dirs.add("");
    }

    /** A directory (and its parents), if not already present. */
    void dir(String path) throws IOException {
        path = strip(path);
        if (dirs.contains(path)) return;
        int slash = path.lastIndexOf('/');
        if (slash > 0) dir(path.substring(0, slash));
        dirs.add(path);
        entry(path, S_IFDIR | 0755, 0, 0, new byte[0]);
    }

    /** A regular file with {@code mode} permission bits. */
    void file(String path, int mode, byte[] data) throws IOException {
        path = strip(path);
        parent(path);
        entry(path, S_IFREG | (mode & 07777), 0, 0, data);
    }

    /** A symbolic link {@code path -> target}. */
    void symlink(String path, String target) throws IOException {
        path = strip(path);
        parent(path);
        entry(path, S_IFLNK | 0777, 0, 0, target.getBytes(StandardCharsets.UTF_8));
    }

    /** A character device node. */
    void charDevice(String path, int mode, int major, int minor) throws IOException {
        path = strip(path);
        parent(path);
        entry(path, S_IFCHR | (mode & 07777), major, minor, new byte[0]);
    }

    private void parent(String path) throws IOException {
        int slash = path.lastIndexOf('/');
        if (slash > 0) dir(path.substring(0, slash));
    }

    private static String strip(String path) {
        while (path.startsWith("/")) path = path.substring(1);
        while (path.endsWith("/")) path = path.substring(0, path.length() - 1);
        return path;
    }

    private void entry(String name, int mode, int rdevMajor, int rdevMinor, byte[] data) throws IOException {
        byte[] n = (name + "\0").getBytes(StandardCharsets.UTF_8);
        StringBuilder h = new StringBuilder(110);
        h.append("070701");
        hex(h, ino++);           // c_ino
        hex(h, mode);            // c_mode
        hex(h, 0);               // c_uid
        hex(h, 0);               // c_gid
        hex(h, (mode & S_IFDIR) == S_IFDIR ? 2 : 1); // c_nlink
        hex(h, 0);               // c_mtime: fixed, so identical inputs give identical archives
        hex(h, data.length);     // c_filesize
        hex(h, 0);               // c_devmajor
        hex(h, 0);               // c_devminor
        hex(h, rdevMajor);       // c_rdevmajor
        hex(h, rdevMinor);       // c_rdevminor
        hex(h, n.length);        // c_namesize
        hex(h, 0);               // c_check
        write(h.toString().getBytes(StandardCharsets.US_ASCII));
        write(n);
        pad();
        write(data);
        pad();
    }

    private static void hex(StringBuilder sb, long v) {
        String s = Long.toHexString(v & 0xffffffffL);
        sb.append("0".repeat(8 - s.length())).append(s);
    }

    private void write(byte[] b) throws IOException {
        out.write(b);
        written += b.length;
    }

    private void pad() throws IOException {
        while ((written & 3) != 0) {
            out.write(0);
            written++;
        }
    }

    /** Writes the trailer (and pads to 512 bytes) without closing the stream. */
    void finish() throws IOException {
        entry("TRAILER!!!", 0, 0, 0, new byte[0]);
        while ((written & 511) != 0) {
            out.write(0);
            written++;
        }
        out.flush();
    }

    @Override
    public void close() throws IOException {
        finish();
        out.close();
    }
}
