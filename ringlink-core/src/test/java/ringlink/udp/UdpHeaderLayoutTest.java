package ringlink.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;
import ringlink.sys.MmsghdrLayout;
import ringlink.sys.SockaddrIn6Layout;
import ringlink.sys.SockaddrInLayout;
import ringlink.sys.Sockets;
import ringlink.sys.UdpSocket;
import ringlink.testing.CProbe;

/** The layouts and constants the udp link uses (ringlink.sys), checked against the C headers. */
class UdpHeaderLayoutTest {
    @Test
    void layoutsMatchTheCHeaders() {
        Map<String, Long> c = CProbe.run("""
                #define _GNU_SOURCE
                #include <sys/socket.h>
                #include <netinet/in.h>
                #include <netinet/udp.h>
                """, """
                P(sizeof(struct mmsghdr)); P(offsetof(struct mmsghdr, msg_len));
                P(sizeof(struct sockaddr_in)); P(offsetof(struct sockaddr_in, sin_port)); \
                P(offsetof(struct sockaddr_in, sin_addr));
                P(sizeof(struct sockaddr_in6)); P(offsetof(struct sockaddr_in6, sin6_port));
                P(offsetof(struct sockaddr_in6, sin6_flowinfo)); P(offsetof(struct sockaddr_in6, sin6_addr));
                P(offsetof(struct sockaddr_in6, sin6_scope_id));
                P(SOL_UDP); P(UDP_SEGMENT); P(UDP_GRO); P(SO_REUSEPORT); P(SO_RCVBUFFORCE); P(SO_SNDBUFFORCE);
                P(IPPROTO_IPV6); P(IPV6_V6ONLY); P(AF_INET); P(AF_INET6); P(CMSG_SPACE(2)); P(CMSG_LEN(2));
                """);
        assertEquals(c.get("sizeof(struct mmsghdr)"), MmsghdrLayout.SIZE);
        assertEquals(c.get("offsetof(struct mmsghdr, msg_len)"), MmsghdrLayout.OFF_MSG_LEN);
        assertEquals(c.get("sizeof(struct sockaddr_in)"), SockaddrInLayout.SIZE);
        assertEquals(c.get("offsetof(struct sockaddr_in, sin_port)"), SockaddrInLayout.OFF_SIN_PORT);
        assertEquals(c.get("offsetof(struct sockaddr_in, sin_addr)"), SockaddrInLayout.OFF_SIN_ADDR);
        assertEquals(c.get("sizeof(struct sockaddr_in6)"), SockaddrIn6Layout.SIZE);
        assertEquals(c.get("offsetof(struct sockaddr_in6, sin6_port)"), SockaddrIn6Layout.OFF_SIN6_PORT);
        assertEquals(c.get("offsetof(struct sockaddr_in6, sin6_flowinfo)"), SockaddrIn6Layout.OFF_SIN6_FLOWINFO);
        assertEquals(c.get("offsetof(struct sockaddr_in6, sin6_addr)"), SockaddrIn6Layout.OFF_SIN6_ADDR);
        assertEquals(c.get("offsetof(struct sockaddr_in6, sin6_scope_id)"), SockaddrIn6Layout.OFF_SIN6_SCOPE_ID);
        assertEquals(c.get("SOL_UDP"), (long) UdpSocket.SOL_UDP);
        assertEquals(c.get("UDP_SEGMENT"), (long) UdpSocket.UDP_SEGMENT);
        assertEquals(c.get("UDP_GRO"), (long) UdpSocket.UDP_GRO);
        assertEquals(c.get("SO_REUSEPORT"), (long) UdpSocket.SO_REUSEPORT);
        assertEquals(c.get("SO_RCVBUFFORCE"), (long) UdpSocket.SO_RCVBUFFORCE);
        assertEquals(c.get("SO_SNDBUFFORCE"), (long) UdpSocket.SO_SNDBUFFORCE);
        assertEquals(c.get("IPPROTO_IPV6"), (long) UdpSocket.IPPROTO_IPV6);
        assertEquals(c.get("IPV6_V6ONLY"), (long) UdpSocket.IPV6_V6ONLY);
        assertEquals(c.get("AF_INET"), (long) Sockets.AF_INET);
        assertEquals(c.get("AF_INET6"), (long) Sockets.AF_INET6);
        assertEquals(c.get("CMSG_SPACE(2)"), ringlink.sys.MsghdrLayout.cmsgSpace(2));
        assertEquals(c.get("CMSG_LEN(2)"), ringlink.sys.MsghdrLayout.cmsgLen(2));
    }
}
