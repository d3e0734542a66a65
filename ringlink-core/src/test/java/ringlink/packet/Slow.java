package ringlink.packet;

/**
 * Independent, deliberately naive reference code for tests: byte-by-byte checksums and a parser
 * written without using the production classes, so a bug in those cannot hide itself.
 */
final class Slow {
    private Slow() {}

    /** RFC 1071 folded ones'-complement sum, one byte at a time. */
    static int sum(byte[] b, int off, int len, int initial) {
        long s = initial;
        for (int i = 0; i < len; i++) {
            int v = b[off + i] & 0xff;
            s += (i % 2 == 0) ? v << 8 : v;
            while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
        }
        return (int) s;
    }

    static int checksum(byte[] b, int off, int len) {
        return ~sum(b, off, len, 0) & 0xffff;
    }

    static int u16(byte[] b, int off) { return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff); }
    static int u8(byte[] b, int off) { return b[off] & 0xff; }
    static long u32(byte[] b, int off) { return (long) u16(b, off) << 16 | u16(b, off + 2); }

    /** Parsed view of a packet (test-only, allocates freely). */
    static final class Parsed {
        int l3, version, l4, proto, ipEnd, l4HeaderLen;
        int payloadOff() { return l4 + l4HeaderLen; }
        int payloadLen() { return ipEnd - payloadOff(); }
    }

    static Parsed parse(byte[] p, boolean ethernet) {
        Parsed r = new Parsed();
        int l3 = 0;
        if (ethernet) {
            int type = u16(p, 12);
            l3 = 14;
            while (type == 0x8100 || type == 0x88a8) { type = u16(p, l3 + 2); l3 += 4; }
        }
        r.l3 = l3;
        r.version = u8(p, l3) >> 4;
        if (r.version == 4) {
            int ihl = (u8(p, l3) & 15) * 4;
            r.ipEnd = l3 + u16(p, l3 + 2);
            r.l4 = l3 + ihl;
            r.proto = u8(p, l3 + 9);
        } else {
            r.ipEnd = l3 + 40 + u16(p, l3 + 4);
            int nh = u8(p, l3 + 6);
            int q = l3 + 40;
            while (nh == 0 || nh == 43 || nh == 60 || nh == 44) {
                int next = u8(p, q);
                q += nh == 44 ? 8 : (u8(p, q + 1) + 1) * 8;
                nh = next;
            }
            r.l4 = q;
            r.proto = nh;
        }
        r.l4HeaderLen = r.proto == 6 ? (u8(p, r.l4 + 12) >> 4) * 4 : r.proto == 17 ? 8 : 0;
        return r;
    }

    static int pseudo(byte[] p, Parsed r, int l4len) {
        int s = 0;
        if (r.version == 4) {
            s = sum(p, r.l3 + 12, 8, 0);
        } else {
            s = sum(p, r.l3 + 8, 32, 0);
        }
        s = sum(new byte[] {0, 0, (byte) (l4len >> 8), (byte) l4len, 0, 0, 0, (byte) r.proto}, 0, 8, s);
        return s;
    }

    /** True if the IPv4 header checksum (if any) and the TCP/UDP checksum are correct. */
    static boolean checksumsValid(byte[] p, boolean ethernet) {
        Parsed r = parse(p, ethernet);
        if (r.version == 4) {
            int ihl = (u8(p, r.l3) & 15) * 4;
            if (sum(p, r.l3, ihl, 0) != 0xffff) return false;
        }
        int l4len = r.ipEnd - r.l4;
        if (r.proto == 17 && r.version == 4 && u16(p, r.l4 + 6) == 0) return true;
        return sum(p, r.l4, l4len, pseudo(p, r, l4len)) == 0xffff;
    }
}
