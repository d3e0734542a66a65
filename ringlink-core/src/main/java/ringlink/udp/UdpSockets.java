package ringlink.udp;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import ringlink.sys.Sockets;
import ringlink.sys.SysException;
import ringlink.sys.UdpSocket;

/** Opening and configuring the UDP sockets of the udp and tunnel links. */
public final class UdpSockets {
    private UdpSockets() {}

    /**
     * A bound non-blocking UDP socket: family from {@code local}'s address ({@code ::} also
     * receives IPv4, v4-mapped), {@code SO_REUSEPORT} before bind when asked (several queues on
     * one port), buffer sizes when positive ({@code SO_*BUFFORCE} first, which root may use beyond
     * {@code net.core.*mem_max}, then the plain option), {@code UDP_GRO} when asked.
     *
     * @return the socket; {@code gro} could not be enabled if {@link #groOn} says so
     */
    public static UdpSocket open(InetSocketAddress local, boolean reusePort, int rcvbuf, int sndbuf, boolean gro,
            String what)
            throws IOException {
        boolean v6 = local.getAddress() instanceof Inet6Address;
        UdpSocket s = UdpSocket.open(v6, what);
        try {
            if (v6 && local.getAddress().isAnyLocalAddress())
                    s.setInt(UdpSocket.IPPROTO_IPV6, UdpSocket.IPV6_V6ONLY, 0, "IPV6_V6ONLY");
            if (reusePort) s.setInt(Sockets.SOL_SOCKET, UdpSocket.SO_REUSEPORT, 1, "SO_REUSEPORT");
            if (rcvbuf > 0) buffer(s, UdpSocket.SO_RCVBUFFORCE, Sockets.SO_RCVBUF, rcvbuf, "SO_RCVBUF");
            if (sndbuf > 0) buffer(s, UdpSocket.SO_SNDBUFFORCE, Sockets.SO_SNDBUF, sndbuf, "SO_SNDBUF");
            if (gro) s.setInt(UdpSocket.SOL_UDP, UdpSocket.UDP_GRO, 1, "UDP_GRO");
            s.bind(local);
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private static void buffer(UdpSocket s, int force, int plain, int bytes, String what) throws IOException {
        try {
            s.setInt(Sockets.SOL_SOCKET, force, bytes, what + "FORCE");
        } catch (SysException e) {
            s.setInt(Sockets.SOL_SOCKET, plain, bytes, what); // not root: capped at net.core.*mem_max
        }
    }

    /** True if UDP_GRO is on for {@code s}. */
    public static boolean groOn(UdpSocket s) {
        try {
            return s.getInt(UdpSocket.SOL_UDP, UdpSocket.UDP_GRO, "UDP_GRO") != 0;
        } catch (IOException e) {
            return false;
        }
    }
}
