package ringlink.tun;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Link;
import ringlink.link.Links;
import ringlink.link.Offloads;
import ringlink.sys.NetDevice;
import ringlink.sys.SysException;
import ringlink.testing.CProbe;
import ringlink.testing.Env;

/** Opening devices, offload negotiation and interface configuration against the real kernel. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TunDeviceTest {
    static final String IF = "rltn-dev0";

    @Test
    void constantsMatchTheKernelHeaders() {
        Map<String, Long> c = CProbe.run("""
                #include <sys/ioctl.h>
                #include <linux/if_tun.h>
                #include <linux/sockios.h>
                #include <net/if.h>
                #include <linux/ipv6.h>
                """, """
                P(TUNSETIFF); P(TUNSETPERSIST); P(TUNGETFEATURES); P(TUNSETOFFLOAD); P(TUNGETIFF);
                P(TUNSETVNETHDRSZ); P(TUNSETQUEUE); P(TUNGETSNDBUF); P(TUNSETSNDBUF);
                P(IFF_TUN); P(IFF_TAP); P(IFF_NO_PI); P(IFF_VNET_HDR);
                P(IFF_MULTI_QUEUE); P(IFF_ATTACH_QUEUE); P(IFF_DETACH_QUEUE); P(TUN_F_CSUM); P(TUN_F_TSO4);
                P(TUN_F_TSO6); P(TUN_F_TSO_ECN); P(TUN_F_UFO);
                P(SIOCGIFFLAGS); P(SIOCSIFFLAGS); P(SIOCGIFMTU); P(SIOCSIFMTU); P(SIOCSIFADDR); P(SIOCSIFNETMASK);
                P(sizeof(struct ifreq)); P(offsetof(struct ifreq, ifr_flags)); P(IFF_UP); P(IFF_RUNNING);
                P(sizeof(struct in6_ifreq)); P(offsetof(struct in6_ifreq, ifr6_prefixlen)); \
                P(offsetof(struct in6_ifreq, ifr6_ifindex));
                """);
        assertEquals(c.get("TUNSETIFF"), TunDevice.TUNSETIFF);
        assertEquals(c.get("TUNSETPERSIST"), TunDevice.TUNSETPERSIST);
        assertEquals(c.get("TUNGETFEATURES"), TunDevice.TUNGETFEATURES);
        assertEquals(c.get("TUNSETOFFLOAD"), TunDevice.TUNSETOFFLOAD);
        assertEquals(c.get("TUNGETIFF"), TunDevice.TUNGETIFF);
        assertEquals(c.get("TUNSETVNETHDRSZ"), TunDevice.TUNSETVNETHDRSZ);
        assertEquals(c.get("TUNSETQUEUE"), TunDevice.TUNSETQUEUE);
        assertEquals(c.get("TUNGETSNDBUF"), TunDevice.TUNGETSNDBUF);
        assertEquals(c.get("TUNSETSNDBUF"), TunDevice.TUNSETSNDBUF);
        assertEquals(c.get("IFF_TUN"), (long) TunDevice.IFF_TUN);
        assertEquals(c.get("IFF_TAP"), (long) TunDevice.IFF_TAP);
        assertEquals(c.get("IFF_NO_PI"), (long) TunDevice.IFF_NO_PI);
        assertEquals(c.get("IFF_VNET_HDR"), (long) TunDevice.IFF_VNET_HDR);
        assertEquals(c.get("IFF_MULTI_QUEUE"), (long) TunDevice.IFF_MULTI_QUEUE);
        assertEquals(c.get("IFF_ATTACH_QUEUE"), (long) TunDevice.IFF_ATTACH_QUEUE);
        assertEquals(c.get("IFF_DETACH_QUEUE"), (long) TunDevice.IFF_DETACH_QUEUE);
        assertEquals(c.get("TUN_F_CSUM"), (long) TunDevice.TUN_F_CSUM);
        assertEquals(c.get("TUN_F_TSO4"), (long) TunDevice.TUN_F_TSO4);
        assertEquals(c.get("TUN_F_TSO6"), (long) TunDevice.TUN_F_TSO6);
        assertEquals(c.get("TUN_F_TSO_ECN"), (long) TunDevice.TUN_F_TSO_ECN);
        assertEquals(c.get("TUN_F_UFO"), (long) TunDevice.TUN_F_UFO);
        // TUN_F_USO4/6 (0x20/0x40) are missing from Debian 12's headers: values from Linux 6.2 if_tun.h
        assertEquals(c.get("SIOCGIFFLAGS"), NetDevice.SIOCGIFFLAGS);
        assertEquals(c.get("SIOCSIFMTU"), NetDevice.SIOCSIFMTU);
        assertEquals(c.get("sizeof(struct ifreq)"), NetDevice.IFREQ_SIZE);
        assertEquals(c.get("offsetof(struct ifreq, ifr_flags)"), NetDevice.OFF_IFR_UNION);
        assertEquals(c.get("IFF_UP"), (long) NetDevice.IFF_UP);
        assertEquals(c.get("IFF_RUNNING"), (long) NetDevice.IFF_RUNNING);
        assertEquals(c.get("sizeof(struct in6_ifreq)"), NetDevice.IN6_IFREQ_SIZE);
        assertEquals(c.get("offsetof(struct in6_ifreq, ifr6_prefixlen)"), NetDevice.OFF_IFR6_PREFIXLEN);
        assertEquals(c.get("offsetof(struct in6_ifreq, ifr6_ifindex)"), NetDevice.OFF_IFR6_IFINDEX);
    }

    @Test
    void offloadsAreNegotiatedAndReportedAsCapabilities() throws Exception {
        Env.requireTun();
        try (TunLink l = TunLink.open(TunConfig.tun(IF).up(false))) {
            // this kernel accepts CSUM|TSO4|TSO6|USO4|USO6
            assertEquals(Offloads.of(Offloads.CSUM | Offloads.TSO4 | Offloads.TSO6 | Offloads.USO), l.offloads());
            assertEquals(TunLink.MAX_GSO_PACKET, l.maxReceiveSize());
        }
        try (TunLink l = TunLink.open(TunConfig.tun(IF).up(false).offloads(Offloads.ALL))) {
            assertTrue(l.offloads().has(Offloads.TSO_ECN) || l.offloads().has(Offloads.TSO4), l.offloads()::toString);
        }
        try (TunLink l = TunLink.open(TunConfig.tap(IF).up(false).offloads(Offloads.parse("csum")))) {
            assertEquals(Offloads.of(Offloads.CSUM), l.offloads());
            assertEquals(1500 + TunLink.L2_OVERHEAD, l.maxReceiveSize());
            assertFalse(l.groEnabled());
        }
        assertEquals(Offloads.of(Offloads.CSUM | Offloads.TSO4),
                TunDevice.fromTunBits(TunDevice.tunBits(Offloads.parse("tso4"))));
        assertEquals(0, TunDevice.tunBits(Offloads.of(Offloads.TSO4)), "TSO without CSUM is not asked for");
    }

    /** The TUN offload bits a link's offloads map to (what vhost-net's TAP backend asks for too). */
    @Test
    void tunOffloadFlagsFollowTheLinkOffloads() {
        assertEquals(0, TunDevice.tunBits(Offloads.NONE));
        assertEquals(TunDevice.TUN_F_CSUM, TunDevice.tunBits(Offloads.parse("csum")));
        assertEquals(TunDevice.TUN_F_CSUM | TunDevice.TUN_F_TSO4 | TunDevice.TUN_F_TSO6,
                TunDevice.tunBits(Offloads.parse("tso")));
        assertEquals(TunDevice.TUN_F_CSUM | TunDevice.TUN_F_USO4 | TunDevice.TUN_F_USO6,
                TunDevice.tunBits(Offloads.parse("uso")));
        assertEquals(0, TunDevice.tunBits(Offloads.parse("ecn")), "ECN alone means nothing without checksum offload");
    }

    @Test
    void interfaceConfigurationWithoutIp() throws Exception {
        Env.requireTun();
        Env.requireNetns();
        try (Link l = Links.open("tun:" + IF + "?mtu=9000&addr=198.18.77.1/30,fd77:77::1/64&offload=tso")) {
            assertEquals(9000, l.mtu());
            assertEquals(9000, NetDevice.mtu(IF));
            assertTrue((NetDevice.flags(IF) & NetDevice.IFF_UP) != 0);
            String addrs = Env.run(10, "ip", "addr", "show", "dev", IF);
            assertTrue(addrs.contains("198.18.77.1/30"), addrs);
            assertTrue(addrs.contains("fd77:77::1/64"), addrs);
            assertTrue(addrs.contains("mtu 9000"), addrs);
            NetDevice.setUp(IF, false);
            assertEquals(0, NetDevice.flags(IF) & NetDevice.IFF_UP);
        }
        // not persistent: gone with its only queue
        assertThrows(SysException.class, () -> NetDevice.mtu(IF));
    }

    @Test
    void persistentDeviceOutlivesTheLinkAndReopens() throws Exception {
        Env.requireTun();
        Env.requireNetns();
        try {
            try (TunLink l = TunLink.open(TunConfig.tap(IF).persist(true).up(false))) {
                assertTrue(l.isOpen());
            }
            assertEquals(1500, NetDevice.mtu(IF), "still there");
            try (TunLink l = TunLink.open(TunConfig.tap(IF).up(false))) {
                assertEquals("tap:" + IF, l.name());
            }
            // same name with other flags: a clear error naming the device
            SysException e = assertThrows(SysException.class, () -> TunLink.open(TunConfig.tun(IF).up(false)));
            assertTrue(e.getMessage().contains(IF), e.getMessage());
        } finally {
            Env.runQuiet(10, "ip", "link", "del", IF);
        }
    }

    /** A lying superpacket from some other peer, forwarded to the kernel: refused, counted, next packet fine. */
    @Test
    void kernelRefusesLyingSuperpacketsAndTheLinkGoesOn() throws Exception {
        Env.requireTun();
        try (TunLink l = TunLink.open(TunConfig.tun(IF).gro(false));
             ringlink.packet.PacketBatch b = new ringlink.packet.PacketBatch(4, 4096)) {
            byte[] p = Pkt.tcp4(1, 0x10, 1, new byte[3000]);
            for (int k = 0; k < 3; k++) {
                int i = b.add();
                java.lang.foreign.MemorySegment.copy(p, 0, b.memory(), java.lang.foreign.ValueLayout.JAVA_BYTE,
                        b.dataOffset(i), p.length);
                b.setLength(i, p.length);
            }
            // csum_start far beyond the packet: the kernel says EINVAL
            b.setOffload(0, ringlink.packet.VirtioNetHdr.F_NEEDS_CSUM, ringlink.packet.VirtioNetHdr.GSO_TCPV4, 40, 1000,
                    3900, 16);
            // gso_size 0
            b.setOffload(1, ringlink.packet.VirtioNetHdr.F_NEEDS_CSUM, ringlink.packet.VirtioNetHdr.GSO_TCPV4, 40, 0,
                    20, 16);
            assertEquals(3, l.transmit(b));
            ringlink.link.LinkStats s = l.counters().snapshot();
            System.out.println("lying superpackets to the kernel: " + s + " last error: " + l.lastError());
            assertEquals(3, s.txPackets() + s.txDrops());
            assertTrue(s.txDrops() >= 1 && s.errors() == s.txDrops(), s::toString);
            assertTrue(l.isOpen());
        }
    }

    @Test
    void nameTemplateIsResolvedByTheKernel() throws Exception {
        Env.requireTun();
        try (TunLink l = TunLink.open(TunConfig.tun("rltn-t%d").up(false))) {
            assertTrue(l.ifname().matches("rltn-t[0-9]+"), l.ifname());
            assertEquals("tun:" + l.ifname(), l.name());
            assertEquals(1500, NetDevice.mtu(l.ifname()));
        }
    }

    @Test
    void badSpecsGiveClearErrors() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Links.open("tun:" + IF + "?ofload=tso"));
        assertTrue(e.getMessage().contains("unknown parameter 'ofload'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Links.open("tap:" + IF + "?vnethdr=11"));
        assertThrows(IllegalArgumentException.class, () -> Links.open("tun:this-name-is-too-long"));
        assertThrows(IllegalArgumentException.class, () -> NetDevice.addAddress("lo", "example.com/24"));
    }
}
