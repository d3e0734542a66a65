package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
        CProbe.expect()
                .that("sizeof(VhostUserHeader)", VhostUserHeaderLayout.SIZE)
                .that("offsetof(VhostUserHeader, request)", VhostUserHeaderLayout.OFF_REQUEST)
                .that("offsetof(VhostUserHeader, flags)", VhostUserHeaderLayout.OFF_FLAGS)
                .that("offsetof(VhostUserHeader, size)", VhostUserHeaderLayout.OFF_SIZE)
                .that("sizeof(VhostUserMemoryRegion)", VhostUserMemoryRegionLayout.SIZE)
                .that("offsetof(VhostUserMemoryRegion, guest_phys_addr)",
                        VhostUserMemoryRegionLayout.OFF_GUEST_PHYS_ADDR)
                .that("offsetof(VhostUserMemoryRegion, memory_size)", VhostUserMemoryRegionLayout.OFF_MEMORY_SIZE)
                .that("offsetof(VhostUserMemoryRegion, userspace_addr)", VhostUserMemoryRegionLayout.OFF_USERSPACE_ADDR)
                .that("offsetof(VhostUserMemoryRegion, mmap_offset)", VhostUserMemoryRegionLayout.OFF_MMAP_OFFSET)
                // mmap_offset sits where the kernel's vhost_memory_region has flags_padding.
                .that("offsetof(struct vhost_memory_region, flags_padding)",
                        VhostUserMemoryRegionLayout.OFF_MMAP_OFFSET)
                .that("offsetof(VhostUserMemory, nregions)", VhostMemoryLayout.OFF_NREGIONS)
                .that("offsetof(VhostUserMemory, regions)", VhostMemoryLayout.OFF_REGIONS)
                .that("sizeof(VhostUserMemRegMsg)", VhostUserMemRegMsgLayout.SIZE)
                .that("offsetof(VhostUserMemRegMsg, padding)", VhostUserMemRegMsgLayout.OFF_PADDING)
                .that("offsetof(VhostUserMemRegMsg, region)", VhostUserMemRegMsgLayout.OFF_REGION)
                .that("sizeof(VhostUserLog)", VhostUserLogLayout.SIZE)
                .that("offsetof(VhostUserLog, mmap_size)", VhostUserLogLayout.OFF_MMAP_SIZE)
                .that("offsetof(VhostUserLog, mmap_offset)", VhostUserLogLayout.OFF_MMAP_OFFSET)
                .that("sizeof(VhostUserInflight)", VhostUserInflightLayout.SIZE)
                .that("offsetof(VhostUserInflight, mmap_size)", VhostUserInflightLayout.OFF_MMAP_SIZE)
                .that("offsetof(VhostUserInflight, mmap_offset)", VhostUserInflightLayout.OFF_MMAP_OFFSET)
                .that("offsetof(VhostUserInflight, num_queues)", VhostUserInflightLayout.OFF_NUM_QUEUES)
                .that("offsetof(VhostUserInflight, queue_size)", VhostUserInflightLayout.OFF_QUEUE_SIZE)
                .that("sizeof(VhostUserConfig)", VhostUserConfigLayout.SIZE)
                .that("offsetof(VhostUserConfig, offset)", VhostUserConfigLayout.OFF_OFFSET)
                .that("offsetof(VhostUserConfig, size)", VhostUserConfigLayout.OFF_SIZE)
                .that("offsetof(VhostUserConfig, flags)", VhostUserConfigLayout.OFF_FLAGS)
                .that("offsetof(VhostUserConfig, region)", VhostUserConfigLayout.OFF_REGION)
                .check("""
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
                """);
        assertEquals(VhostMemoryRegionLayout.SIZE, VhostUserMemoryRegionLayout.SIZE);
        // The request table's sizes are these structures'.
        assertEquals(VhostUserLogLayout.SIZE, Request.SET_LOG_BASE.minSize);
        assertEquals(VhostUserMemRegMsgLayout.SIZE, Request.ADD_MEM_REG.minSize);
    }

    /** The inflight regions' layouts as DPDK's public rte_vhost.h declares them (dpdk-dev). */
    @Test
    void inflightRegionLayoutsMatchDpdksHeader() {
        Env.requireFile(Path.of("/usr/include/dpdk/rte_vhost.h"), "DPDK's rte_vhost.h (Debian package dpdk-dev)");
        String infoSplit = "struct rte_vhost_inflight_info_split";
        String descSplit = "struct rte_vhost_inflight_desc_split";
        String infoPacked = "struct rte_vhost_inflight_info_packed";
        String descPacked = "struct rte_vhost_inflight_desc_packed";
        CProbe.expect()
                .that("sizeof(" + infoSplit + ")", QueueRegionSplitLayout.SIZE)
                .that("offsetof(" + infoSplit + ", features)", QueueRegionSplitLayout.OFF_FEATURES)
                .that("offsetof(" + infoSplit + ", version)", QueueRegionSplitLayout.OFF_VERSION)
                .that("offsetof(" + infoSplit + ", desc_num)", QueueRegionSplitLayout.OFF_DESC_NUM)
                .that("offsetof(" + infoSplit + ", last_inflight_io)", QueueRegionSplitLayout.OFF_LAST_BATCH_HEAD)
                .that("offsetof(" + infoSplit + ", used_idx)", QueueRegionSplitLayout.OFF_USED_IDX)
                .that("offsetof(" + infoSplit + ", desc)", QueueRegionSplitLayout.OFF_DESC)
                .that("sizeof(" + descSplit + ")", DescStateSplitLayout.SIZE)
                .that("offsetof(" + descSplit + ", inflight)", DescStateSplitLayout.OFF_INFLIGHT)
                .that("offsetof(" + descSplit + ", padding)", DescStateSplitLayout.OFF_PADDING)
                .that("offsetof(" + descSplit + ", next)", DescStateSplitLayout.OFF_NEXT)
                .that("offsetof(" + descSplit + ", counter)", DescStateSplitLayout.OFF_COUNTER)
                .that("sizeof(" + infoPacked + ")", QueueRegionPackedLayout.SIZE)
                .that("offsetof(" + infoPacked + ", features)", QueueRegionPackedLayout.OFF_FEATURES)
                .that("offsetof(" + infoPacked + ", version)", QueueRegionPackedLayout.OFF_VERSION)
                .that("offsetof(" + infoPacked + ", desc_num)", QueueRegionPackedLayout.OFF_DESC_NUM)
                .that("offsetof(" + infoPacked + ", free_head)", QueueRegionPackedLayout.OFF_FREE_HEAD)
                .that("offsetof(" + infoPacked + ", old_free_head)", QueueRegionPackedLayout.OFF_OLD_FREE_HEAD)
                .that("offsetof(" + infoPacked + ", used_idx)", QueueRegionPackedLayout.OFF_USED_IDX)
                .that("offsetof(" + infoPacked + ", old_used_idx)", QueueRegionPackedLayout.OFF_OLD_USED_IDX)
                .that("offsetof(" + infoPacked + ", used_wrap_counter)", QueueRegionPackedLayout.OFF_USED_WRAP_COUNTER)
                .that("offsetof(" + infoPacked + ", old_used_wrap_counter)",
                        QueueRegionPackedLayout.OFF_OLD_USED_WRAP_COUNTER)
                .that("offsetof(" + infoPacked + ", padding)", QueueRegionPackedLayout.OFF_PADDING)
                .that("offsetof(" + infoPacked + ", desc)", QueueRegionPackedLayout.OFF_DESC)
                .that("sizeof(" + descPacked + ")", DescStatePackedLayout.SIZE)
                .that("offsetof(" + descPacked + ", inflight)", DescStatePackedLayout.OFF_INFLIGHT)
                .that("offsetof(" + descPacked + ", padding)", DescStatePackedLayout.OFF_PADDING)
                .that("offsetof(" + descPacked + ", next)", DescStatePackedLayout.OFF_NEXT)
                .that("offsetof(" + descPacked + ", last)", DescStatePackedLayout.OFF_LAST)
                .that("offsetof(" + descPacked + ", num)", DescStatePackedLayout.OFF_NUM)
                .that("offsetof(" + descPacked + ", counter)", DescStatePackedLayout.OFF_COUNTER)
                .that("offsetof(" + descPacked + ", id)", DescStatePackedLayout.OFF_ID)
                .that("offsetof(" + descPacked + ", flags)", DescStatePackedLayout.OFF_FLAGS)
                .that("offsetof(" + descPacked + ", len)", DescStatePackedLayout.OFF_LEN)
                .that("offsetof(" + descPacked + ", addr)", DescStatePackedLayout.OFF_ADDR)
                .check("#include <rte_vhost.h>",
                        "-I/usr/include/dpdk", "-I/usr/include/x86_64-linux-gnu/dpdk", "-include", "rte_config.h");
    }
}
