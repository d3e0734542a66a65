package ringlink.packet;

/** {@link TestPackets} for the tunnel tests in other packages. */
public final class TunnelTestPackets {
    private TunnelTestPackets() {}

    /**
     * An Ethernet + IPv4/IPv6 + TCP packet from 02:00:00:00:00:01 to 02:00:00:00:00:02 with
     * {@code payload}; {@code partial}: the TCP checksum holds the pseudo-header sum only.
     */
    public static byte[] tcp(int ipVersion, byte[] payload, int seq, boolean partial) {
        TestPackets.Spec s = new TestPackets.Spec();
        s.framing = Framing.ETHERNET;
        s.ipVersion = ipVersion;
        s.payload = payload;
        s.seq = seq;
        return TestPackets.build(s, partial);
    }

    /** Header length (Ethernet + IP + TCP) of {@link #tcp}. */
    public static int headers(int ipVersion) {
        return 14 + (ipVersion == 4 ? 20 : 40) + 20;
    }
}
