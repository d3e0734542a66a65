package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import ringlink.testing.CProbe;
import ringlink.testing.Env;
import ringlink.vhost.VhostMemoryLayout;
import ringlink.vhost.VhostMemoryRegionLayout;

/**
 * The vhost-user payload layouts, checked by gcc. vhost-user's own structures are in no
 * installed header (they live in QEMU's and DPDK's sources), so the probe declares them as
 * vhost-user.rst ("Message types") does and compares our offsets with what the C compiler makes of
 * them; the structures vhost-user shares with the kernel's vhost API come from
 * linux/vhost_types.h ({@code ringlink.vhost.VhostLayoutTest} checks those layouts themselves).
 */
class VhostUserLayoutTest {
    @Test
    void payloadLayoutsMatchTheSpecsStructs() {
        Map<String, Long> c = CProbe.run("""
                #include <stdint.h>
                #include <linux/vhost_types.h>
                /* vhost-user.rst, as QEMU's hw/virtio/vhost-user.c and DPDK's lib/vhost/vhost_user.h declare them. */
                typedef struct VhostUserHeader { uint32_t request; uint32_t flags; uint32_t size; \
                } __attribute__((packed)) VhostUserHeader;
                typedef struct VhostUserMemoryRegion { uint64_t guest_phys_addr; uint64_t memory_size;
                    uint64_t userspace_addr; uint64_t mmap_offset; } VhostUserMemoryRegion;
                typedef struct VhostUserMemory { uint32_t nregions; uint32_t padding; \
                VhostUserMemoryRegion regions[8]; } VhostUserMemory;
                typedef struct VhostUserMemRegMsg { uint64_t padding; VhostUserMemoryRegion region; \
                } VhostUserMemRegMsg;
                typedef struct VhostUserLog { uint64_t mmap_size; uint64_t mmap_offset; } VhostUserLog;
                typedef struct VhostUserInflight { uint64_t mmap_size; uint64_t mmap_offset; uint16_t num_queues;
                    uint16_t queue_size; } VhostUserInflight;
                typedef struct VhostUserConfig { uint32_t offset; uint32_t size; uint32_t flags; uint8_t region[]; \
                } VhostUserConfig;
                """, """
                P(sizeof(VhostUserHeader)); P(offsetof(VhostUserHeader, request)); P(offsetof(VhostUserHeader, flags));
                P(offsetof(VhostUserHeader, size));
                P(sizeof(VhostUserMemoryRegion)); P(offsetof(VhostUserMemoryRegion, guest_phys_addr));
                P(offsetof(VhostUserMemoryRegion, memory_size)); P(offsetof(VhostUserMemoryRegion, userspace_addr));
                P(offsetof(VhostUserMemoryRegion, mmap_offset)); P(offsetof(struct vhost_memory_region, flags_padding));
                P(offsetof(VhostUserMemory, nregions)); P(offsetof(VhostUserMemory, regions));
                P(sizeof(VhostUserMemRegMsg)); P(offsetof(VhostUserMemRegMsg, padding)); \
                P(offsetof(VhostUserMemRegMsg, region));
                P(sizeof(VhostUserLog)); P(offsetof(VhostUserLog, mmap_size)); P(offsetof(VhostUserLog, mmap_offset));
                P(sizeof(VhostUserInflight)); P(offsetof(VhostUserInflight, mmap_size)); \
                P(offsetof(VhostUserInflight, mmap_offset));
                P(offsetof(VhostUserInflight, num_queues)); P(offsetof(VhostUserInflight, queue_size));
                P(sizeof(VhostUserConfig)); P(offsetof(VhostUserConfig, offset)); P(offsetof(VhostUserConfig, size));
                P(offsetof(VhostUserConfig, flags)); P(offsetof(VhostUserConfig, region));
                """);
        assertEquals(c.get("sizeof(VhostUserHeader)"), VhostUserHeaderLayout.SIZE);
        assertEquals(c.get("offsetof(VhostUserHeader, request)"), VhostUserHeaderLayout.OFF_REQUEST);
        assertEquals(c.get("offsetof(VhostUserHeader, flags)"), VhostUserHeaderLayout.OFF_FLAGS);
        assertEquals(c.get("offsetof(VhostUserHeader, size)"), VhostUserHeaderLayout.OFF_SIZE);
        assertEquals(c.get("sizeof(VhostUserMemoryRegion)"), VhostUserMemoryRegionLayout.SIZE);
        assertEquals(c.get("offsetof(VhostUserMemoryRegion, guest_phys_addr)"),
                VhostUserMemoryRegionLayout.OFF_GUEST_PHYS_ADDR);
        assertEquals(c.get("offsetof(VhostUserMemoryRegion, memory_size)"),
                VhostUserMemoryRegionLayout.OFF_MEMORY_SIZE);
        assertEquals(c.get("offsetof(VhostUserMemoryRegion, userspace_addr)"),
                VhostUserMemoryRegionLayout.OFF_USERSPACE_ADDR);
        assertEquals(c.get("offsetof(VhostUserMemoryRegion, mmap_offset)"),
                VhostUserMemoryRegionLayout.OFF_MMAP_OFFSET);
        // mmap_offset sits where the kernel's vhost_memory_region has flags_padding.
        assertEquals(c.get("offsetof(struct vhost_memory_region, flags_padding)"),
                VhostUserMemoryRegionLayout.OFF_MMAP_OFFSET);
        assertEquals(c.get("offsetof(VhostUserMemory, nregions)"), VhostMemoryLayout.OFF_NREGIONS);
        assertEquals(c.get("offsetof(VhostUserMemory, regions)"), VhostMemoryLayout.OFF_REGIONS);
        assertEquals(VhostMemoryRegionLayout.SIZE, VhostUserMemoryRegionLayout.SIZE);
        assertEquals(c.get("sizeof(VhostUserMemRegMsg)"), VhostUserMemRegMsgLayout.SIZE);
        assertEquals(c.get("offsetof(VhostUserMemRegMsg, padding)"), VhostUserMemRegMsgLayout.OFF_PADDING);
        assertEquals(c.get("offsetof(VhostUserMemRegMsg, region)"), VhostUserMemRegMsgLayout.OFF_REGION);
        assertEquals(c.get("sizeof(VhostUserLog)"), VhostUserLogLayout.SIZE);
        assertEquals(c.get("offsetof(VhostUserLog, mmap_size)"), VhostUserLogLayout.OFF_MMAP_SIZE);
        assertEquals(c.get("offsetof(VhostUserLog, mmap_offset)"), VhostUserLogLayout.OFF_MMAP_OFFSET);
        assertEquals(c.get("sizeof(VhostUserInflight)"), VhostUserInflightLayout.SIZE);
        assertEquals(c.get("offsetof(VhostUserInflight, mmap_size)"), VhostUserInflightLayout.OFF_MMAP_SIZE);
        assertEquals(c.get("offsetof(VhostUserInflight, mmap_offset)"), VhostUserInflightLayout.OFF_MMAP_OFFSET);
        assertEquals(c.get("offsetof(VhostUserInflight, num_queues)"), VhostUserInflightLayout.OFF_NUM_QUEUES);
        assertEquals(c.get("offsetof(VhostUserInflight, queue_size)"), VhostUserInflightLayout.OFF_QUEUE_SIZE);
        assertEquals(c.get("sizeof(VhostUserConfig)"), VhostUserConfigLayout.SIZE);
        assertEquals(c.get("offsetof(VhostUserConfig, offset)"), VhostUserConfigLayout.OFF_OFFSET);
        assertEquals(c.get("offsetof(VhostUserConfig, size)"), VhostUserConfigLayout.OFF_SIZE);
        assertEquals(c.get("offsetof(VhostUserConfig, flags)"), VhostUserConfigLayout.OFF_FLAGS);
        assertEquals(c.get("offsetof(VhostUserConfig, region)"), VhostUserConfigLayout.OFF_REGION);
        // The request table's sizes are these structures'.
        assertEquals(VhostUserLogLayout.SIZE, Request.SET_LOG_BASE.minSize);
        assertEquals(VhostUserMemRegMsgLayout.SIZE, Request.ADD_MEM_REG.minSize);
    }

    /** The inflight regions' layouts as DPDK's public rte_vhost.h declares them (dpdk-dev). */
    @Test
    void inflightRegionLayoutsMatchDpdksHeader() {
        Env.requireFile(Path.of("/usr/include/dpdk/rte_vhost.h"), "DPDK's rte_vhost.h (Debian package dpdk-dev)");
        Map<String, Long> c = CProbe.run("#include <rte_vhost.h>", """
                P(sizeof(struct rte_vhost_inflight_info_split)); P(offsetof(struct rte_vhost_inflight_info_split, \
                features));
                P(offsetof(struct rte_vhost_inflight_info_split, version)); \
                P(offsetof(struct rte_vhost_inflight_info_split, desc_num));
                P(offsetof(struct rte_vhost_inflight_info_split, last_inflight_io));
                P(offsetof(struct rte_vhost_inflight_info_split, used_idx)); \
                P(offsetof(struct rte_vhost_inflight_info_split, desc));
                P(sizeof(struct rte_vhost_inflight_desc_split)); P(offsetof(struct rte_vhost_inflight_desc_split, \
                inflight));
                P(offsetof(struct rte_vhost_inflight_desc_split, padding)); \
                P(offsetof(struct rte_vhost_inflight_desc_split, next));
                P(offsetof(struct rte_vhost_inflight_desc_split, counter));
                P(sizeof(struct rte_vhost_inflight_info_packed)); P(offsetof(struct rte_vhost_inflight_info_packed, \
                features));
                P(offsetof(struct rte_vhost_inflight_info_packed, version)); \
                P(offsetof(struct rte_vhost_inflight_info_packed, desc_num));
                P(offsetof(struct rte_vhost_inflight_info_packed, free_head));
                P(offsetof(struct rte_vhost_inflight_info_packed, old_free_head));
                P(offsetof(struct rte_vhost_inflight_info_packed, used_idx));
                P(offsetof(struct rte_vhost_inflight_info_packed, old_used_idx));
                P(offsetof(struct rte_vhost_inflight_info_packed, used_wrap_counter));
                P(offsetof(struct rte_vhost_inflight_info_packed, old_used_wrap_counter));
                P(offsetof(struct rte_vhost_inflight_info_packed, padding)); \
                P(offsetof(struct rte_vhost_inflight_info_packed, desc));
                P(sizeof(struct rte_vhost_inflight_desc_packed)); P(offsetof(struct rte_vhost_inflight_desc_packed, \
                inflight));
                P(offsetof(struct rte_vhost_inflight_desc_packed, padding)); \
                P(offsetof(struct rte_vhost_inflight_desc_packed, next));
                P(offsetof(struct rte_vhost_inflight_desc_packed, last)); \
                P(offsetof(struct rte_vhost_inflight_desc_packed, num));
                P(offsetof(struct rte_vhost_inflight_desc_packed, counter)); \
                P(offsetof(struct rte_vhost_inflight_desc_packed, id));
                P(offsetof(struct rte_vhost_inflight_desc_packed, flags)); \
                P(offsetof(struct rte_vhost_inflight_desc_packed, len));
                P(offsetof(struct rte_vhost_inflight_desc_packed, addr));
                """, "-I/usr/include/dpdk", "-I/usr/include/x86_64-linux-gnu/dpdk", "-include", "rte_config.h");
        String s = "struct rte_vhost_inflight_info_split";
        assertEquals(c.get("sizeof(" + s + ")"), QueueRegionSplitLayout.SIZE);
        assertEquals(c.get("offsetof(" + s + ", features)"), QueueRegionSplitLayout.OFF_FEATURES);
        assertEquals(c.get("offsetof(" + s + ", version)"), QueueRegionSplitLayout.OFF_VERSION);
        assertEquals(c.get("offsetof(" + s + ", desc_num)"), QueueRegionSplitLayout.OFF_DESC_NUM);
        assertEquals(c.get("offsetof(" + s + ", last_inflight_io)"), QueueRegionSplitLayout.OFF_LAST_BATCH_HEAD);
        assertEquals(c.get("offsetof(" + s + ", used_idx)"), QueueRegionSplitLayout.OFF_USED_IDX);
        assertEquals(c.get("offsetof(" + s + ", desc)"), QueueRegionSplitLayout.OFF_DESC);
        s = "struct rte_vhost_inflight_desc_split";
        assertEquals(c.get("sizeof(" + s + ")"), DescStateSplitLayout.SIZE);
        assertEquals(c.get("offsetof(" + s + ", inflight)"), DescStateSplitLayout.OFF_INFLIGHT);
        assertEquals(c.get("offsetof(" + s + ", padding)"), DescStateSplitLayout.OFF_PADDING);
        assertEquals(c.get("offsetof(" + s + ", next)"), DescStateSplitLayout.OFF_NEXT);
        assertEquals(c.get("offsetof(" + s + ", counter)"), DescStateSplitLayout.OFF_COUNTER);
        s = "struct rte_vhost_inflight_info_packed";
        assertEquals(c.get("sizeof(" + s + ")"), QueueRegionPackedLayout.SIZE);
        assertEquals(c.get("offsetof(" + s + ", features)"), QueueRegionPackedLayout.OFF_FEATURES);
        assertEquals(c.get("offsetof(" + s + ", version)"), QueueRegionPackedLayout.OFF_VERSION);
        assertEquals(c.get("offsetof(" + s + ", desc_num)"), QueueRegionPackedLayout.OFF_DESC_NUM);
        assertEquals(c.get("offsetof(" + s + ", free_head)"), QueueRegionPackedLayout.OFF_FREE_HEAD);
        assertEquals(c.get("offsetof(" + s + ", old_free_head)"), QueueRegionPackedLayout.OFF_OLD_FREE_HEAD);
        assertEquals(c.get("offsetof(" + s + ", used_idx)"), QueueRegionPackedLayout.OFF_USED_IDX);
        assertEquals(c.get("offsetof(" + s + ", old_used_idx)"), QueueRegionPackedLayout.OFF_OLD_USED_IDX);
        assertEquals(c.get("offsetof(" + s + ", used_wrap_counter)"), QueueRegionPackedLayout.OFF_USED_WRAP_COUNTER);
        assertEquals(c.get("offsetof(" + s + ", old_used_wrap_counter)"),
                QueueRegionPackedLayout.OFF_OLD_USED_WRAP_COUNTER);
        assertEquals(c.get("offsetof(" + s + ", padding)"), QueueRegionPackedLayout.OFF_PADDING);
        assertEquals(c.get("offsetof(" + s + ", desc)"), QueueRegionPackedLayout.OFF_DESC);
        s = "struct rte_vhost_inflight_desc_packed";
        assertEquals(c.get("sizeof(" + s + ")"), DescStatePackedLayout.SIZE);
        assertEquals(c.get("offsetof(" + s + ", inflight)"), DescStatePackedLayout.OFF_INFLIGHT);
        assertEquals(c.get("offsetof(" + s + ", padding)"), DescStatePackedLayout.OFF_PADDING);
        assertEquals(c.get("offsetof(" + s + ", next)"), DescStatePackedLayout.OFF_NEXT);
        assertEquals(c.get("offsetof(" + s + ", last)"), DescStatePackedLayout.OFF_LAST);
        assertEquals(c.get("offsetof(" + s + ", num)"), DescStatePackedLayout.OFF_NUM);
        assertEquals(c.get("offsetof(" + s + ", counter)"), DescStatePackedLayout.OFF_COUNTER);
        assertEquals(c.get("offsetof(" + s + ", id)"), DescStatePackedLayout.OFF_ID);
        assertEquals(c.get("offsetof(" + s + ", flags)"), DescStatePackedLayout.OFF_FLAGS);
        assertEquals(c.get("offsetof(" + s + ", len)"), DescStatePackedLayout.OFF_LEN);
        assertEquals(c.get("offsetof(" + s + ", addr)"), DescStatePackedLayout.OFF_ADDR);
    }
}
