package ringlink.vhost;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;
import ringlink.testing.CProbe;

/** The vhost structures, ioctl numbers and TAP constants, checked against linux/vhost.h and linux/if_tun.h. */
class VhostLayoutTest {
    @Test
    void layoutsAndIoctlsMatchTheKernelHeaders() {
        Map<String, Long> c = CProbe.run("""
                #include <linux/vhost.h>
                #include <linux/if_tun.h>
                #include <net/if.h>
                """, """
                P(sizeof(struct vhost_memory)); P(offsetof(struct vhost_memory, nregions));
                P(offsetof(struct vhost_memory, padding)); P(offsetof(struct vhost_memory, regions));
                P(sizeof(struct vhost_memory_region)); P(offsetof(struct vhost_memory_region, guest_phys_addr));
                P(offsetof(struct vhost_memory_region, memory_size)); P(offsetof(struct vhost_memory_region, \
                userspace_addr));
                P(offsetof(struct vhost_memory_region, flags_padding));
                P(sizeof(struct vhost_vring_state)); P(offsetof(struct vhost_vring_state, index)); \
                P(offsetof(struct vhost_vring_state, num));
                P(sizeof(struct vhost_vring_addr)); P(offsetof(struct vhost_vring_addr, index)); \
                P(offsetof(struct vhost_vring_addr, flags));
                P(offsetof(struct vhost_vring_addr, desc_user_addr)); P(offsetof(struct vhost_vring_addr, \
                used_user_addr));
                P(offsetof(struct vhost_vring_addr, avail_user_addr)); P(offsetof(struct vhost_vring_addr, \
                log_guest_addr));
                P(sizeof(struct vhost_vring_file)); P(offsetof(struct vhost_vring_file, index)); \
                P(offsetof(struct vhost_vring_file, fd));
                P(VHOST_GET_FEATURES); P(VHOST_SET_FEATURES); P(VHOST_SET_OWNER); P(VHOST_RESET_OWNER); \
                P(VHOST_SET_MEM_TABLE);
                P(VHOST_SET_VRING_NUM); P(VHOST_SET_VRING_ADDR); P(VHOST_SET_VRING_BASE); P(VHOST_GET_VRING_BASE);
                P(VHOST_SET_VRING_KICK); P(VHOST_SET_VRING_CALL); P(VHOST_SET_VRING_ERR); P(VHOST_NET_SET_BACKEND);
                P(VHOST_NET_F_VIRTIO_NET_HDR); P(VHOST_VRING_F_LOG);
                P(TUNSETIFF); P(TUNGETIFF); P(TUNSETOFFLOAD); P(TUNSETVNETHDRSZ);
                P(IFF_TAP); P(IFF_NO_PI); P(IFF_VNET_HDR); P(IFF_TUN_EXCL);
                P(TUN_F_CSUM); P(TUN_F_TSO4); P(TUN_F_TSO6); P(TUN_F_TSO_ECN); P(TUN_F_UFO);
                P(sizeof(struct ifreq)); P(offsetof(struct ifreq, ifr_flags)); P(IFNAMSIZ);
                """);
        assertEquals(c.get("sizeof(struct vhost_memory)"), VhostMemoryLayout.SIZE);
        assertEquals(c.get("offsetof(struct vhost_memory, nregions)"), VhostMemoryLayout.OFF_NREGIONS);
        assertEquals(c.get("offsetof(struct vhost_memory, padding)"), VhostMemoryLayout.OFF_PADDING);
        assertEquals(c.get("offsetof(struct vhost_memory, regions)"), VhostMemoryLayout.OFF_REGIONS);
        assertEquals(c.get("sizeof(struct vhost_memory_region)"), VhostMemoryRegionLayout.SIZE);
        assertEquals(c.get("offsetof(struct vhost_memory_region, guest_phys_addr)"),
                VhostMemoryRegionLayout.OFF_GUEST_PHYS_ADDR);
        assertEquals(c.get("offsetof(struct vhost_memory_region, memory_size)"),
                VhostMemoryRegionLayout.OFF_MEMORY_SIZE);
        assertEquals(c.get("offsetof(struct vhost_memory_region, userspace_addr)"),
                VhostMemoryRegionLayout.OFF_USERSPACE_ADDR);
        assertEquals(c.get("offsetof(struct vhost_memory_region, flags_padding)"),
                VhostMemoryRegionLayout.OFF_FLAGS_PADDING);
        assertEquals(c.get("sizeof(struct vhost_vring_state)"), VhostVringStateLayout.SIZE);
        assertEquals(c.get("offsetof(struct vhost_vring_state, index)"), VhostVringStateLayout.OFF_INDEX);
        assertEquals(c.get("offsetof(struct vhost_vring_state, num)"), VhostVringStateLayout.OFF_NUM);
        assertEquals(c.get("sizeof(struct vhost_vring_addr)"), VhostVringAddrLayout.SIZE);
        assertEquals(c.get("offsetof(struct vhost_vring_addr, index)"), VhostVringAddrLayout.OFF_INDEX);
        assertEquals(c.get("offsetof(struct vhost_vring_addr, flags)"), VhostVringAddrLayout.OFF_FLAGS);
        assertEquals(c.get("offsetof(struct vhost_vring_addr, desc_user_addr)"),
                VhostVringAddrLayout.OFF_DESC_USER_ADDR);
        assertEquals(c.get("offsetof(struct vhost_vring_addr, used_user_addr)"),
                VhostVringAddrLayout.OFF_USED_USER_ADDR);
        assertEquals(c.get("offsetof(struct vhost_vring_addr, avail_user_addr)"),
                VhostVringAddrLayout.OFF_AVAIL_USER_ADDR);
        assertEquals(c.get("offsetof(struct vhost_vring_addr, log_guest_addr)"),
                VhostVringAddrLayout.OFF_LOG_GUEST_ADDR);
        assertEquals(c.get("sizeof(struct vhost_vring_file)"), VhostVringFileLayout.SIZE);
        assertEquals(c.get("offsetof(struct vhost_vring_file, index)"), VhostVringFileLayout.OFF_INDEX);
        assertEquals(c.get("offsetof(struct vhost_vring_file, fd)"), VhostVringFileLayout.OFF_FD);

        assertIoctl(c, "VHOST_GET_FEATURES", VhostDevice.VHOST_GET_FEATURES);
        assertIoctl(c, "VHOST_SET_FEATURES", VhostDevice.VHOST_SET_FEATURES);
        assertIoctl(c, "VHOST_SET_OWNER", VhostDevice.VHOST_SET_OWNER);
        assertIoctl(c, "VHOST_RESET_OWNER", VhostDevice.VHOST_RESET_OWNER);
        assertIoctl(c, "VHOST_SET_MEM_TABLE", VhostDevice.VHOST_SET_MEM_TABLE);
        assertIoctl(c, "VHOST_SET_VRING_NUM", VhostDevice.VHOST_SET_VRING_NUM);
        assertIoctl(c, "VHOST_SET_VRING_ADDR", VhostDevice.VHOST_SET_VRING_ADDR);
        assertIoctl(c, "VHOST_SET_VRING_BASE", VhostDevice.VHOST_SET_VRING_BASE);
        assertIoctl(c, "VHOST_GET_VRING_BASE", VhostDevice.VHOST_GET_VRING_BASE);
        assertIoctl(c, "VHOST_SET_VRING_KICK", VhostDevice.VHOST_SET_VRING_KICK);
        assertIoctl(c, "VHOST_SET_VRING_CALL", VhostDevice.VHOST_SET_VRING_CALL);
        assertIoctl(c, "VHOST_SET_VRING_ERR", VhostDevice.VHOST_SET_VRING_ERR);
        assertIoctl(c, "VHOST_NET_SET_BACKEND", VhostDevice.VHOST_NET_SET_BACKEND);
        assertEquals(c.get("VHOST_NET_F_VIRTIO_NET_HDR"), (long) VhostDevice.VHOST_NET_F_VIRTIO_NET_HDR);
        assertEquals(c.get("VHOST_VRING_F_LOG"), (long) VhostVringAddrLayout.VHOST_VRING_F_LOG);
        // The TAP backend's constants are ringlink.tun.TunDevice's, checked by TunDeviceTest.
    }

    /** ioctl numbers print as signed long long from an unsigned long: compare the low 32 bits. */
    private static void assertIoctl(Map<String, Long> c, String name, long ours) {
        assertEquals(c.get(name) & 0xffffffffL, ours & 0xffffffffL, name);
    }
}
