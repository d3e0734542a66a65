package ringlink.packet;

import static ringlink.sys.Endian.BE16;
import static ringlink.sys.Endian.BE32;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Network-byte-order (big-endian) unaligned access; every header class reads through these. */
final class Bytes {
    private Bytes() {}


    static int u8(MemorySegment s, long off) { return s.get(ValueLayout.JAVA_BYTE, off) & 0xff; }
    static int u16(MemorySegment s, long off) { return Short.toUnsignedInt(s.get(BE16, off)); }
    static int i32(MemorySegment s, long off) { return s.get(BE32, off); }
    static long u32(MemorySegment s, long off) { return Integer.toUnsignedLong(s.get(BE32, off)); }
    static void put8(MemorySegment s, long off, int v) { s.set(ValueLayout.JAVA_BYTE, off, (byte) v); }
    static void put16(MemorySegment s, long off, int v) { s.set(BE16, off, (short) v); }
    static void put32(MemorySegment s, long off, int v) { s.set(BE32, off, v); }
}
