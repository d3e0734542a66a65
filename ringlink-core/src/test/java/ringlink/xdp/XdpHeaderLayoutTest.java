package ringlink.xdp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;
import ringlink.testing.CProbe;

/** The AF_XDP and bpf_attr layouts and constants of ringlink.xdp, checked against linux/if_xdp.h and linux/bpf.h. */
class XdpHeaderLayoutTest {
    @Test
    void layoutsMatchTheKernelHeaders() {
        Map<String, Long> c = CProbe.run("""
                #include <linux/if_xdp.h>
                #include <linux/bpf.h>
                #include <linux/if_link.h>
                """, """
                P(sizeof(struct sockaddr_xdp)); P(offsetof(struct sockaddr_xdp, sxdp_flags));
                P(offsetof(struct sockaddr_xdp, sxdp_ifindex)); P(offsetof(struct sockaddr_xdp, sxdp_queue_id));
                P(offsetof(struct sockaddr_xdp, sxdp_shared_umem_fd));
                P(XDP_SHARED_UMEM); P(XDP_COPY); P(XDP_ZEROCOPY); P(XDP_USE_NEED_WAKEUP);
                P(sizeof(struct xdp_umem_reg)); P(offsetof(struct xdp_umem_reg, len)); \
                P(offsetof(struct xdp_umem_reg, chunk_size));
                P(offsetof(struct xdp_umem_reg, headroom)); P(offsetof(struct xdp_umem_reg, flags));
                P(XDP_UMEM_UNALIGNED_CHUNK_FLAG);
                P(sizeof(struct xdp_ring_offset)); P(offsetof(struct xdp_ring_offset, consumer));
                P(offsetof(struct xdp_ring_offset, desc)); P(offsetof(struct xdp_ring_offset, flags)); \
                P(XDP_RING_NEED_WAKEUP);
                P(sizeof(struct xdp_mmap_offsets)); P(offsetof(struct xdp_mmap_offsets, tx));
                P(offsetof(struct xdp_mmap_offsets, fr)); P(offsetof(struct xdp_mmap_offsets, cr));
                P(XDP_PGOFF_RX_RING); P(XDP_PGOFF_TX_RING); P(XDP_UMEM_PGOFF_FILL_RING); \
                P(XDP_UMEM_PGOFF_COMPLETION_RING);
                P(XDP_MMAP_OFFSETS); P(XDP_RX_RING); P(XDP_TX_RING); P(XDP_UMEM_REG); P(XDP_UMEM_FILL_RING);
                P(XDP_UMEM_COMPLETION_RING); P(XDP_STATISTICS); P(XDP_OPTIONS);
                P(sizeof(struct xdp_desc)); P(offsetof(struct xdp_desc, len)); P(offsetof(struct xdp_desc, options));
                P(XSK_UNALIGNED_BUF_OFFSET_SHIFT); P(XSK_UNALIGNED_BUF_ADDR_MASK);
                P(sizeof(struct xdp_options)); P(XDP_OPTIONS_ZEROCOPY);
                P(sizeof(struct xdp_statistics)); P(offsetof(struct xdp_statistics, rx_invalid_descs));
                P(offsetof(struct xdp_statistics, tx_invalid_descs)); P(offsetof(struct xdp_statistics, rx_ring_full));
                P(offsetof(struct xdp_statistics, rx_fill_ring_empty_descs)); \
                P(offsetof(struct xdp_statistics, tx_ring_empty_descs));
                P(offsetof(union bpf_attr, map_type)); P(offsetof(union bpf_attr, key_size)); \
                P(offsetof(union bpf_attr, value_size));
                P(offsetof(union bpf_attr, max_entries)); P(offsetof(union bpf_attr, map_flags)); \
                P(offsetof(union bpf_attr, map_name));
                P(offsetof(union bpf_attr, map_fd)); P(offsetof(union bpf_attr, key)); \
                P(offsetof(union bpf_attr, value));
                P(offsetof(union bpf_attr, flags));
                P(offsetof(union bpf_attr, prog_type)); P(offsetof(union bpf_attr, insn_cnt)); \
                P(offsetof(union bpf_attr, insns));
                P(offsetof(union bpf_attr, license)); P(offsetof(union bpf_attr, log_level)); \
                P(offsetof(union bpf_attr, log_size));
                P(offsetof(union bpf_attr, log_buf)); P(offsetof(union bpf_attr, kern_version)); \
                P(offsetof(union bpf_attr, prog_flags));
                P(offsetof(union bpf_attr, prog_name)); P(offsetof(union bpf_attr, prog_ifindex));
                P(offsetof(union bpf_attr, expected_attach_type));
                P(offsetof(union bpf_attr, pathname)); P(offsetof(union bpf_attr, bpf_fd)); \
                P(offsetof(union bpf_attr, file_flags));
                P(offsetof(union bpf_attr, link_create.prog_fd)); P(offsetof(union bpf_attr, \
                link_create.target_ifindex));
                P(offsetof(union bpf_attr, link_create.attach_type)); P(offsetof(union bpf_attr, link_create.flags));
                P(BPF_OBJ_NAME_LEN); P(BPF_MAP_TYPE_XSKMAP); P(BPF_PROG_TYPE_XDP); P(BPF_XDP); P(BPF_ANY); \
                P(BPF_PSEUDO_MAP_FD);
                P(BPF_FUNC_redirect_map); P(XDP_PASS); P(XDP_REDIRECT); P(XDP_DROP);
                P(XDP_FLAGS_UPDATE_IF_NOEXIST); P(XDP_FLAGS_SKB_MODE); P(XDP_FLAGS_DRV_MODE);
                P(offsetof(struct xdp_md, rx_queue_index)); P(sizeof(struct bpf_insn));
                P(BPF_LDX | BPF_MEM | BPF_W); P(BPF_LD | BPF_DW | BPF_IMM); P(BPF_ALU64 | BPF_MOV | BPF_K); \
                P(BPF_JMP | BPF_CALL);
                P(BPF_JMP | BPF_EXIT);
                """);
        assertEquals(c.get("sizeof(struct sockaddr_xdp)"), SockaddrXdpLayout.SIZE);
        assertEquals(c.get("offsetof(struct sockaddr_xdp, sxdp_flags)"), SockaddrXdpLayout.OFF_SXDP_FLAGS);
        assertEquals(c.get("offsetof(struct sockaddr_xdp, sxdp_ifindex)"), SockaddrXdpLayout.OFF_SXDP_IFINDEX);
        assertEquals(c.get("offsetof(struct sockaddr_xdp, sxdp_queue_id)"), SockaddrXdpLayout.OFF_SXDP_QUEUE_ID);
        assertEquals(c.get("offsetof(struct sockaddr_xdp, sxdp_shared_umem_fd)"),
                SockaddrXdpLayout.OFF_SXDP_SHARED_UMEM_FD);
        assertEquals(c.get("XDP_SHARED_UMEM"), (long) SockaddrXdpLayout.XDP_SHARED_UMEM);
        assertEquals(c.get("XDP_COPY"), (long) SockaddrXdpLayout.XDP_COPY);
        assertEquals(c.get("XDP_ZEROCOPY"), (long) SockaddrXdpLayout.XDP_ZEROCOPY);
        assertEquals(c.get("XDP_USE_NEED_WAKEUP"), (long) SockaddrXdpLayout.XDP_USE_NEED_WAKEUP);
        assertEquals(c.get("sizeof(struct xdp_umem_reg)"), XdpUmemRegLayout.SIZE);
        assertEquals(c.get("offsetof(struct xdp_umem_reg, len)"), XdpUmemRegLayout.OFF_LEN);
        assertEquals(c.get("offsetof(struct xdp_umem_reg, chunk_size)"), XdpUmemRegLayout.OFF_CHUNK_SIZE);
        assertEquals(c.get("offsetof(struct xdp_umem_reg, headroom)"), XdpUmemRegLayout.OFF_HEADROOM);
        assertEquals(c.get("offsetof(struct xdp_umem_reg, flags)"), XdpUmemRegLayout.OFF_FLAGS);
        assertEquals(c.get("XDP_UMEM_UNALIGNED_CHUNK_FLAG"), (long) XdpUmemRegLayout.XDP_UMEM_UNALIGNED_CHUNK_FLAG);
        assertEquals(c.get("sizeof(struct xdp_ring_offset)"), XdpRingOffsetLayout.SIZE);
        assertEquals(c.get("offsetof(struct xdp_ring_offset, consumer)"), XdpRingOffsetLayout.OFF_CONSUMER);
        assertEquals(c.get("offsetof(struct xdp_ring_offset, desc)"), XdpRingOffsetLayout.OFF_DESC);
        assertEquals(c.get("offsetof(struct xdp_ring_offset, flags)"), XdpRingOffsetLayout.OFF_FLAGS);
        assertEquals(c.get("XDP_RING_NEED_WAKEUP"), (long) XdpRingOffsetLayout.XDP_RING_NEED_WAKEUP);
        assertEquals(c.get("sizeof(struct xdp_mmap_offsets)"), XdpMmapOffsetsLayout.SIZE);
        assertEquals(c.get("offsetof(struct xdp_mmap_offsets, tx)"), XdpMmapOffsetsLayout.OFF_TX);
        assertEquals(c.get("offsetof(struct xdp_mmap_offsets, fr)"), XdpMmapOffsetsLayout.OFF_FR);
        assertEquals(c.get("offsetof(struct xdp_mmap_offsets, cr)"), XdpMmapOffsetsLayout.OFF_CR);
        assertEquals(c.get("XDP_PGOFF_RX_RING"), XdpMmapOffsetsLayout.XDP_PGOFF_RX_RING);
        assertEquals(c.get("XDP_PGOFF_TX_RING"), XdpMmapOffsetsLayout.XDP_PGOFF_TX_RING);
        assertEquals(c.get("XDP_UMEM_PGOFF_FILL_RING"), XdpMmapOffsetsLayout.XDP_UMEM_PGOFF_FILL_RING);
        assertEquals(c.get("XDP_UMEM_PGOFF_COMPLETION_RING"), XdpMmapOffsetsLayout.XDP_UMEM_PGOFF_COMPLETION_RING);
        assertEquals(c.get("XDP_MMAP_OFFSETS"), (long) XdpMmapOffsetsLayout.XDP_MMAP_OFFSETS);
        assertEquals(c.get("XDP_RX_RING"), (long) XdpMmapOffsetsLayout.XDP_RX_RING);
        assertEquals(c.get("XDP_TX_RING"), (long) XdpMmapOffsetsLayout.XDP_TX_RING);
        assertEquals(c.get("XDP_UMEM_REG"), (long) XdpMmapOffsetsLayout.XDP_UMEM_REG);
        assertEquals(c.get("XDP_UMEM_FILL_RING"), (long) XdpMmapOffsetsLayout.XDP_UMEM_FILL_RING);
        assertEquals(c.get("XDP_UMEM_COMPLETION_RING"), (long) XdpMmapOffsetsLayout.XDP_UMEM_COMPLETION_RING);
        assertEquals(c.get("XDP_STATISTICS"), (long) XdpMmapOffsetsLayout.XDP_STATISTICS);
        assertEquals(c.get("XDP_OPTIONS"), (long) XdpMmapOffsetsLayout.XDP_OPTIONS);
        assertEquals(c.get("sizeof(struct xdp_desc)"), XdpDescLayout.SIZE);
        assertEquals(c.get("offsetof(struct xdp_desc, len)"), XdpDescLayout.OFF_LEN);
        assertEquals(c.get("offsetof(struct xdp_desc, options)"), XdpDescLayout.OFF_OPTIONS);
        assertEquals(c.get("XSK_UNALIGNED_BUF_OFFSET_SHIFT"), (long) XdpDescLayout.XSK_UNALIGNED_BUF_OFFSET_SHIFT);
        assertEquals(c.get("XSK_UNALIGNED_BUF_ADDR_MASK"), XdpDescLayout.XSK_UNALIGNED_BUF_ADDR_MASK);
        assertEquals(c.get("sizeof(struct xdp_options)"), XdpOptionsLayout.SIZE);
        assertEquals(c.get("XDP_OPTIONS_ZEROCOPY"), (long) XdpOptionsLayout.XDP_OPTIONS_ZEROCOPY);
        assertEquals(c.get("sizeof(struct xdp_statistics)"), XdpStatisticsLayout.SIZE);
        assertEquals(c.get("offsetof(struct xdp_statistics, rx_invalid_descs)"),
                XdpStatisticsLayout.OFF_RX_INVALID_DESCS);
        assertEquals(c.get("offsetof(struct xdp_statistics, tx_invalid_descs)"),
                XdpStatisticsLayout.OFF_TX_INVALID_DESCS);
        assertEquals(c.get("offsetof(struct xdp_statistics, rx_ring_full)"), XdpStatisticsLayout.OFF_RX_RING_FULL);
        assertEquals(c.get("offsetof(struct xdp_statistics, rx_fill_ring_empty_descs)"),
                XdpStatisticsLayout.OFF_RX_FILL_RING_EMPTY_DESCS);
        assertEquals(c.get("offsetof(struct xdp_statistics, tx_ring_empty_descs)"),
                XdpStatisticsLayout.OFF_TX_RING_EMPTY_DESCS);

        assertEquals(c.get("offsetof(union bpf_attr, map_type)"), BpfAttrLayout.OFF_MAP_TYPE);
        assertEquals(c.get("offsetof(union bpf_attr, key_size)"), BpfAttrLayout.OFF_KEY_SIZE);
        assertEquals(c.get("offsetof(union bpf_attr, value_size)"), BpfAttrLayout.OFF_VALUE_SIZE);
        assertEquals(c.get("offsetof(union bpf_attr, max_entries)"), BpfAttrLayout.OFF_MAX_ENTRIES);
        assertEquals(c.get("offsetof(union bpf_attr, map_flags)"), BpfAttrLayout.OFF_MAP_FLAGS);
        assertEquals(c.get("offsetof(union bpf_attr, map_name)"), BpfAttrLayout.OFF_MAP_NAME);
        assertEquals(c.get("offsetof(union bpf_attr, map_fd)"), BpfAttrLayout.OFF_ELEM_MAP_FD);
        assertEquals(c.get("offsetof(union bpf_attr, key)"), BpfAttrLayout.OFF_ELEM_KEY);
        assertEquals(c.get("offsetof(union bpf_attr, value)"), BpfAttrLayout.OFF_ELEM_VALUE);
        assertEquals(c.get("offsetof(union bpf_attr, flags)"), BpfAttrLayout.OFF_ELEM_FLAGS);
        assertEquals(c.get("offsetof(union bpf_attr, prog_type)"), BpfAttrLayout.OFF_PROG_TYPE);
        assertEquals(c.get("offsetof(union bpf_attr, insn_cnt)"), BpfAttrLayout.OFF_INSN_CNT);
        assertEquals(c.get("offsetof(union bpf_attr, insns)"), BpfAttrLayout.OFF_INSNS);
        assertEquals(c.get("offsetof(union bpf_attr, license)"), BpfAttrLayout.OFF_LICENSE);
        assertEquals(c.get("offsetof(union bpf_attr, log_level)"), BpfAttrLayout.OFF_LOG_LEVEL);
        assertEquals(c.get("offsetof(union bpf_attr, log_size)"), BpfAttrLayout.OFF_LOG_SIZE);
        assertEquals(c.get("offsetof(union bpf_attr, log_buf)"), BpfAttrLayout.OFF_LOG_BUF);
        assertEquals(c.get("offsetof(union bpf_attr, kern_version)"), BpfAttrLayout.OFF_KERN_VERSION);
        assertEquals(c.get("offsetof(union bpf_attr, prog_flags)"), BpfAttrLayout.OFF_PROG_FLAGS);
        assertEquals(c.get("offsetof(union bpf_attr, prog_name)"), BpfAttrLayout.OFF_PROG_NAME);
        assertEquals(c.get("offsetof(union bpf_attr, prog_ifindex)"), BpfAttrLayout.OFF_PROG_IFINDEX);
        assertEquals(c.get("offsetof(union bpf_attr, expected_attach_type)"), BpfAttrLayout.OFF_EXPECTED_ATTACH_TYPE);
        assertEquals(c.get("offsetof(union bpf_attr, pathname)"), BpfAttrLayout.OFF_PATHNAME);
        assertEquals(c.get("offsetof(union bpf_attr, bpf_fd)"), BpfAttrLayout.OFF_BPF_FD);
        assertEquals(c.get("offsetof(union bpf_attr, file_flags)"), BpfAttrLayout.OFF_FILE_FLAGS);
        assertEquals(c.get("offsetof(union bpf_attr, link_create.prog_fd)"), BpfAttrLayout.OFF_LINK_PROG_FD);
        assertEquals(c.get("offsetof(union bpf_attr, link_create.target_ifindex)"),
                BpfAttrLayout.OFF_LINK_TARGET_IFINDEX);
        assertEquals(c.get("offsetof(union bpf_attr, link_create.attach_type)"), BpfAttrLayout.OFF_LINK_ATTACH_TYPE);
        assertEquals(c.get("offsetof(union bpf_attr, link_create.flags)"), BpfAttrLayout.OFF_LINK_FLAGS);
        assertEquals(c.get("BPF_OBJ_NAME_LEN"), (long) BpfAttrLayout.BPF_OBJ_NAME_LEN);
        assertEquals(c.get("BPF_MAP_TYPE_XSKMAP"), (long) BpfAttrLayout.BPF_MAP_TYPE_XSKMAP);
        assertEquals(c.get("BPF_PROG_TYPE_XDP"), (long) BpfAttrLayout.BPF_PROG_TYPE_XDP);
        assertEquals(c.get("BPF_XDP"), (long) BpfAttrLayout.BPF_XDP);
        assertEquals(c.get("BPF_ANY"), (long) BpfAttrLayout.BPF_ANY);
        assertEquals(c.get("BPF_PSEUDO_MAP_FD"), (long) BpfAttrLayout.BPF_PSEUDO_MAP_FD);
        assertEquals(c.get("BPF_FUNC_redirect_map"), (long) BpfAttrLayout.BPF_FUNC_redirect_map);
        assertEquals(c.get("XDP_PASS"), (long) BpfAttrLayout.XDP_PASS);
        assertEquals(c.get("XDP_REDIRECT"), (long) BpfAttrLayout.XDP_REDIRECT);
        assertEquals(c.get("XDP_DROP"), (long) BpfAttrLayout.XDP_DROP);
        assertEquals(c.get("XDP_FLAGS_UPDATE_IF_NOEXIST"), (long) BpfAttrLayout.XDP_FLAGS_UPDATE_IF_NOEXIST);
        assertEquals(c.get("XDP_FLAGS_SKB_MODE"), (long) BpfAttrLayout.XDP_FLAGS_SKB_MODE);
        assertEquals(c.get("XDP_FLAGS_DRV_MODE"), (long) BpfAttrLayout.XDP_FLAGS_DRV_MODE);
        assertEquals(c.get("offsetof(struct xdp_md, rx_queue_index)"), (long) BpfAttrLayout.XDP_MD_RX_QUEUE_INDEX);
        assertEquals(c.get("sizeof(struct bpf_insn)"), (long) BpfAssembler.INSN_SIZE);
        assertEquals(c.get("BPF_LDX | BPF_MEM | BPF_W"),
                (long) (BpfAssembler.BPF_LDX | BpfAssembler.BPF_MEM | BpfAssembler.BPF_W));
        assertEquals(c.get("BPF_LD | BPF_DW | BPF_IMM"),
                (long) (BpfAssembler.BPF_LD | BpfAssembler.BPF_DW | BpfAssembler.BPF_IMM));
        assertEquals(c.get("BPF_ALU64 | BPF_MOV | BPF_K"),
                (long) (BpfAssembler.BPF_ALU64 | BpfAssembler.BPF_MOV | BpfAssembler.BPF_K));
        assertEquals(c.get("BPF_JMP | BPF_CALL"), (long) (BpfAssembler.BPF_JMP | BpfAssembler.BPF_CALL));
        assertEquals(c.get("BPF_JMP | BPF_EXIT"), (long) (BpfAssembler.BPF_JMP | BpfAssembler.BPF_EXIT));
    }
}
