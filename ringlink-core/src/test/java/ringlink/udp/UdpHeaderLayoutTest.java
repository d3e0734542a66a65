package ringlink.udp;

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
        CProbe.expect()
                .that("sizeof(struct mmsghdr)", MmsghdrLayout.SIZE)
                .that("offsetof(struct mmsghdr, msg_len)", MmsghdrLayout.OFF_MSG_LEN)
                .that("sizeof(struct sockaddr_in)", SockaddrInLayout.SIZE)
                .that("offsetof(struct sockaddr_in, sin_port)", SockaddrInLayout.OFF_SIN_PORT)
                .that("offsetof(struct sockaddr_in, sin_addr)", SockaddrInLayout.OFF_SIN_ADDR)
                .that("sizeof(struct sockaddr_in6)", SockaddrIn6Layout.SIZE)
                .that("offsetof(struct sockaddr_in6, sin6_port)", SockaddrIn6Layout.OFF_SIN6_PORT)
                .that("offsetof(struct sockaddr_in6, sin6_flowinfo)", SockaddrIn6Layout.OFF_SIN6_FLOWINFO)
                .that("offsetof(struct sockaddr_in6, sin6_addr)", SockaddrIn6Layout.OFF_SIN6_ADDR)
                .that("offsetof(struct sockaddr_in6, sin6_scope_id)", SockaddrIn6Layout.OFF_SIN6_SCOPE_ID)
                .that("SOL_UDP", UdpSocket.SOL_UDP)
                .that("UDP_SEGMENT", UdpSocket.UDP_SEGMENT)
                .that("UDP_GRO", UdpSocket.UDP_GRO)
                .that("SO_REUSEPORT", UdpSocket.SO_REUSEPORT)
                .that("SO_RCVBUFFORCE", UdpSocket.SO_RCVBUFFORCE)
                .that("SO_SNDBUFFORCE", UdpSocket.SO_SNDBUFFORCE)
                .that("IPPROTO_IPV6", UdpSocket.IPPROTO_IPV6)
                .that("IPV6_V6ONLY", UdpSocket.IPV6_V6ONLY)
                .that("AF_INET", Sockets.AF_INET)
                .that("AF_INET6", Sockets.AF_INET6)
                .that("CMSG_SPACE(2)", ringlink.sys.MsghdrLayout.cmsgSpace(2))
                .that("CMSG_LEN(2)", ringlink.sys.MsghdrLayout.cmsgLen(2))
                .check("""
                #define _GNU_SOURCE
                #include <sys/socket.h>
                #include <netinet/in.h>
                #include <netinet/udp.h>
                """);
    }
}
