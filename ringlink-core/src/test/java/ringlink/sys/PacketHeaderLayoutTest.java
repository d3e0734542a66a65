package ringlink.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;
import ringlink.testing.CProbe;

/** The AF_PACKET layouts and constants of ringlink.sys, checked against linux/if_packet.h. */
class PacketHeaderLayoutTest {
    @Test
    void layoutsMatchTheKernelHeaders() {
        Map<String, Long> c = CProbe.run("""
                #include <sys/socket.h>
                #include <linux/if_packet.h>
                #include <linux/if_ether.h>
                #include <arpa/inet.h>
                """, """
                P(sizeof(struct sockaddr_ll)); P(offsetof(struct sockaddr_ll, sll_protocol));
                P(offsetof(struct sockaddr_ll, sll_ifindex)); P(offsetof(struct sockaddr_ll, sll_hatype));
                P(offsetof(struct sockaddr_ll, sll_pkttype)); P(offsetof(struct sockaddr_ll, sll_halen));
                P(offsetof(struct sockaddr_ll, sll_addr));
                P(sizeof(struct packet_mreq)); P(offsetof(struct packet_mreq, mr_type)); \
                P(offsetof(struct packet_mreq, mr_alen));
                P(offsetof(struct packet_mreq, mr_address)); P(PACKET_MR_MULTICAST); P(PACKET_MR_PROMISC); \
                P(PACKET_MR_ALLMULTI);
                P(sizeof(struct tpacket_req3)); P(offsetof(struct tpacket_req3, tp_block_nr));
                P(offsetof(struct tpacket_req3, tp_frame_size)); P(offsetof(struct tpacket_req3, tp_frame_nr));
                P(offsetof(struct tpacket_req3, tp_retire_blk_tov)); P(offsetof(struct tpacket_req3, tp_sizeof_priv));
                P(offsetof(struct tpacket_req3, tp_feature_req_word));
                P(sizeof(struct tpacket_block_desc)); P(offsetof(struct tpacket_block_desc, offset_to_priv));
                P(offsetof(struct tpacket_block_desc, hdr));
                P(offsetof(struct tpacket_block_desc, hdr.bh1.block_status)); \
                P(offsetof(struct tpacket_block_desc, hdr.bh1.num_pkts));
                P(offsetof(struct tpacket_block_desc, hdr.bh1.offset_to_first_pkt)); \
                P(offsetof(struct tpacket_block_desc, hdr.bh1.blk_len));
                P(offsetof(struct tpacket_block_desc, hdr.bh1.seq_num)); \
                P(offsetof(struct tpacket_block_desc, hdr.bh1.ts_first_pkt));
                P(offsetof(struct tpacket_block_desc, hdr.bh1.ts_last_pkt)); P(sizeof(struct tpacket_hdr_v1));
                P(sizeof(struct tpacket_bd_ts));
                P(sizeof(struct tpacket3_hdr)); P(offsetof(struct tpacket3_hdr, tp_sec)); \
                P(offsetof(struct tpacket3_hdr, tp_nsec));
                P(offsetof(struct tpacket3_hdr, tp_snaplen)); P(offsetof(struct tpacket3_hdr, tp_len));
                P(offsetof(struct tpacket3_hdr, tp_status)); P(offsetof(struct tpacket3_hdr, tp_mac));
                P(offsetof(struct tpacket3_hdr, tp_net)); P(offsetof(struct tpacket3_hdr, hv1));
                P(offsetof(struct tpacket3_hdr, hv1.tp_rxhash)); P(offsetof(struct tpacket3_hdr, hv1.tp_vlan_tci));
                P(offsetof(struct tpacket3_hdr, hv1.tp_vlan_tpid)); P(sizeof(struct tpacket_hdr_variant1));
                P(TPACKET_ALIGNMENT); P(TPACKET3_HDRLEN - sizeof(struct sockaddr_ll));
                P(sizeof(struct tpacket_stats_v3)); P(offsetof(struct tpacket_stats_v3, tp_drops));
                P(offsetof(struct tpacket_stats_v3, tp_freeze_q_cnt));
                P(SOL_PACKET); P(ETH_P_ALL); P(htons(ETH_P_ALL)); P(AF_PACKET);
                P(PACKET_ADD_MEMBERSHIP); P(PACKET_DROP_MEMBERSHIP); P(PACKET_RX_RING); P(PACKET_STATISTICS);
                P(PACKET_VERSION); P(PACKET_HDRLEN); P(PACKET_RESERVE); P(PACKET_TX_RING); P(PACKET_LOSS); \
                P(PACKET_VNET_HDR);
                P(PACKET_TX_TIMESTAMP); P(PACKET_TIMESTAMP); P(PACKET_FANOUT); P(PACKET_TX_HAS_OFF); \
                P(PACKET_QDISC_BYPASS);
                P(PACKET_IGNORE_OUTGOING);
                P(TPACKET_V1); P(TPACKET_V2); P(TPACKET_V3);
                P(PACKET_FANOUT_HASH); P(PACKET_FANOUT_LB); P(PACKET_FANOUT_CPU);
                P(TP_STATUS_KERNEL); P(TP_STATUS_USER); P(TP_STATUS_COPY); P(TP_STATUS_LOSING); \
                P(TP_STATUS_CSUMNOTREADY);
                P(TP_STATUS_VLAN_VALID); P(TP_STATUS_BLK_TMO); P(TP_STATUS_VLAN_TPID_VALID); P(TP_STATUS_CSUM_VALID);
                P(TP_STATUS_AVAILABLE); P(TP_STATUS_SEND_REQUEST); P(TP_STATUS_SENDING); P(TP_STATUS_WRONG_FORMAT);
                """);
        assertEquals(c.get("sizeof(struct sockaddr_ll)"), SockaddrLlLayout.SIZE);
        assertEquals(c.get("offsetof(struct sockaddr_ll, sll_protocol)"), SockaddrLlLayout.OFF_SLL_PROTOCOL);
        assertEquals(c.get("offsetof(struct sockaddr_ll, sll_ifindex)"), SockaddrLlLayout.OFF_SLL_IFINDEX);
        assertEquals(c.get("offsetof(struct sockaddr_ll, sll_hatype)"), SockaddrLlLayout.OFF_SLL_HATYPE);
        assertEquals(c.get("offsetof(struct sockaddr_ll, sll_pkttype)"), SockaddrLlLayout.OFF_SLL_PKTTYPE);
        assertEquals(c.get("offsetof(struct sockaddr_ll, sll_halen)"), SockaddrLlLayout.OFF_SLL_HALEN);
        assertEquals(c.get("offsetof(struct sockaddr_ll, sll_addr)"), SockaddrLlLayout.OFF_SLL_ADDR);
        assertEquals(c.get("sizeof(struct packet_mreq)"), PacketMreqLayout.SIZE);
        assertEquals(c.get("offsetof(struct packet_mreq, mr_type)"), PacketMreqLayout.OFF_MR_TYPE);
        assertEquals(c.get("offsetof(struct packet_mreq, mr_alen)"), PacketMreqLayout.OFF_MR_ALEN);
        assertEquals(c.get("offsetof(struct packet_mreq, mr_address)"), PacketMreqLayout.OFF_MR_ADDRESS);
        assertEquals(c.get("PACKET_MR_MULTICAST"), (long) PacketMreqLayout.PACKET_MR_MULTICAST);
        assertEquals(c.get("PACKET_MR_PROMISC"), (long) PacketMreqLayout.PACKET_MR_PROMISC);
        assertEquals(c.get("PACKET_MR_ALLMULTI"), (long) PacketMreqLayout.PACKET_MR_ALLMULTI);
        assertEquals(c.get("sizeof(struct tpacket_req3)"), TpacketReq3Layout.SIZE);
        assertEquals(c.get("offsetof(struct tpacket_req3, tp_block_nr)"), TpacketReq3Layout.OFF_TP_BLOCK_NR);
        assertEquals(c.get("offsetof(struct tpacket_req3, tp_frame_size)"), TpacketReq3Layout.OFF_TP_FRAME_SIZE);
        assertEquals(c.get("offsetof(struct tpacket_req3, tp_frame_nr)"), TpacketReq3Layout.OFF_TP_FRAME_NR);
        assertEquals(c.get("offsetof(struct tpacket_req3, tp_retire_blk_tov)"),
                TpacketReq3Layout.OFF_TP_RETIRE_BLK_TOV);
        assertEquals(c.get("offsetof(struct tpacket_req3, tp_sizeof_priv)"), TpacketReq3Layout.OFF_TP_SIZEOF_PRIV);
        assertEquals(c.get("offsetof(struct tpacket_req3, tp_feature_req_word)"),
                TpacketReq3Layout.OFF_TP_FEATURE_REQ_WORD);
        assertEquals(c.get("sizeof(struct tpacket_block_desc)"), TpacketBlockDescLayout.SIZE);
        assertEquals(c.get("offsetof(struct tpacket_block_desc, offset_to_priv)"),
                TpacketBlockDescLayout.OFF_OFFSET_TO_PRIV);
        assertEquals(c.get("offsetof(struct tpacket_block_desc, hdr)"), TpacketBlockDescLayout.OFF_HDR);
        assertEquals(c.get("offsetof(struct tpacket_block_desc, hdr.bh1.block_status)"),
                TpacketBlockDescLayout.OFF_BLOCK_STATUS);
        assertEquals(c.get("offsetof(struct tpacket_block_desc, hdr.bh1.num_pkts)"),
                TpacketBlockDescLayout.OFF_NUM_PKTS);
        assertEquals(c.get("offsetof(struct tpacket_block_desc, hdr.bh1.offset_to_first_pkt)"),
                TpacketBlockDescLayout.OFF_OFFSET_TO_FIRST_PKT);
        assertEquals(c.get("offsetof(struct tpacket_block_desc, hdr.bh1.blk_len)"), TpacketBlockDescLayout.OFF_BLK_LEN);
        assertEquals(c.get("offsetof(struct tpacket_block_desc, hdr.bh1.seq_num)"), TpacketBlockDescLayout.OFF_SEQ_NUM);
        assertEquals(c.get("offsetof(struct tpacket_block_desc, hdr.bh1.ts_first_pkt)"),
                TpacketBlockDescLayout.OFF_TS_FIRST_PKT);
        assertEquals(c.get("offsetof(struct tpacket_block_desc, hdr.bh1.ts_last_pkt)"),
                TpacketBlockDescLayout.OFF_TS_LAST_PKT);
        assertEquals(c.get("sizeof(struct tpacket_hdr_v1)"), TpacketBlockDescLayout.HDR_V1.byteSize());
        assertEquals(c.get("sizeof(struct tpacket_bd_ts)"), TpacketBlockDescLayout.BD_TS.byteSize());
        assertEquals(c.get("sizeof(struct tpacket3_hdr)"), Tpacket3HdrLayout.SIZE);
        assertEquals(c.get("offsetof(struct tpacket3_hdr, tp_sec)"), Tpacket3HdrLayout.OFF_TP_SEC);
        assertEquals(c.get("offsetof(struct tpacket3_hdr, tp_nsec)"), Tpacket3HdrLayout.OFF_TP_NSEC);
        assertEquals(c.get("offsetof(struct tpacket3_hdr, tp_snaplen)"), Tpacket3HdrLayout.OFF_TP_SNAPLEN);
        assertEquals(c.get("offsetof(struct tpacket3_hdr, tp_len)"), Tpacket3HdrLayout.OFF_TP_LEN);
        assertEquals(c.get("offsetof(struct tpacket3_hdr, tp_status)"), Tpacket3HdrLayout.OFF_TP_STATUS);
        assertEquals(c.get("offsetof(struct tpacket3_hdr, tp_mac)"), Tpacket3HdrLayout.OFF_TP_MAC);
        assertEquals(c.get("offsetof(struct tpacket3_hdr, tp_net)"), Tpacket3HdrLayout.OFF_TP_NET);
        assertEquals(c.get("offsetof(struct tpacket3_hdr, hv1)"), Tpacket3HdrLayout.OFF_HV1);
        assertEquals(c.get("offsetof(struct tpacket3_hdr, hv1.tp_rxhash)"), Tpacket3HdrLayout.OFF_TP_RXHASH);
        assertEquals(c.get("offsetof(struct tpacket3_hdr, hv1.tp_vlan_tci)"), Tpacket3HdrLayout.OFF_TP_VLAN_TCI);
        assertEquals(c.get("offsetof(struct tpacket3_hdr, hv1.tp_vlan_tpid)"), Tpacket3HdrLayout.OFF_TP_VLAN_TPID);
        assertEquals(c.get("sizeof(struct tpacket_hdr_variant1)"), Tpacket3HdrLayout.VARIANT1.byteSize());
        assertEquals(c.get("TPACKET_ALIGNMENT"), (long) Tpacket3HdrLayout.TPACKET_ALIGNMENT);
        assertEquals(c.get("TPACKET3_HDRLEN - sizeof(struct sockaddr_ll)"), Tpacket3HdrLayout.TX_DATA_OFFSET);
        assertEquals(c.get("sizeof(struct tpacket_stats_v3)"), TpacketStatsV3Layout.SIZE);
        assertEquals(c.get("offsetof(struct tpacket_stats_v3, tp_drops)"), TpacketStatsV3Layout.OFF_TP_DROPS);
        assertEquals(c.get("offsetof(struct tpacket_stats_v3, tp_freeze_q_cnt)"),
                TpacketStatsV3Layout.OFF_TP_FREEZE_Q_CNT);
        assertEquals(c.get("SOL_PACKET"), (long) PacketSockets.SOL_PACKET);
        assertEquals(c.get("ETH_P_ALL"), (long) PacketSockets.ETH_P_ALL);
        assertEquals(c.get("htons(ETH_P_ALL)"), (long) PacketSockets.htons(PacketSockets.ETH_P_ALL));
        assertEquals(c.get("AF_PACKET"), (long) Sockets.AF_PACKET);
        assertEquals(c.get("PACKET_ADD_MEMBERSHIP"), (long) PacketSockets.PACKET_ADD_MEMBERSHIP);
        assertEquals(c.get("PACKET_DROP_MEMBERSHIP"), (long) PacketSockets.PACKET_DROP_MEMBERSHIP);
        assertEquals(c.get("PACKET_RX_RING"), (long) PacketSockets.PACKET_RX_RING);
        assertEquals(c.get("PACKET_STATISTICS"), (long) PacketSockets.PACKET_STATISTICS);
        assertEquals(c.get("PACKET_VERSION"), (long) PacketSockets.PACKET_VERSION);
        assertEquals(c.get("PACKET_HDRLEN"), (long) PacketSockets.PACKET_HDRLEN);
        assertEquals(c.get("PACKET_RESERVE"), (long) PacketSockets.PACKET_RESERVE);
        assertEquals(c.get("PACKET_TX_RING"), (long) PacketSockets.PACKET_TX_RING);
        assertEquals(c.get("PACKET_LOSS"), (long) PacketSockets.PACKET_LOSS);
        assertEquals(c.get("PACKET_VNET_HDR"), (long) PacketSockets.PACKET_VNET_HDR);
        assertEquals(c.get("PACKET_TX_TIMESTAMP"), (long) PacketSockets.PACKET_TX_TIMESTAMP);
        assertEquals(c.get("PACKET_TIMESTAMP"), (long) PacketSockets.PACKET_TIMESTAMP);
        assertEquals(c.get("PACKET_FANOUT"), (long) PacketSockets.PACKET_FANOUT);
        assertEquals(c.get("PACKET_TX_HAS_OFF"), (long) PacketSockets.PACKET_TX_HAS_OFF);
        assertEquals(c.get("PACKET_QDISC_BYPASS"), (long) PacketSockets.PACKET_QDISC_BYPASS);
        assertEquals(c.get("PACKET_IGNORE_OUTGOING"), (long) PacketSockets.PACKET_IGNORE_OUTGOING);
        assertEquals(c.get("PACKET_FANOUT_HASH"), (long) PacketSockets.PACKET_FANOUT_HASH);
        assertEquals(c.get("PACKET_FANOUT_LB"), (long) PacketSockets.PACKET_FANOUT_LB);
        assertEquals(c.get("PACKET_FANOUT_CPU"), (long) PacketSockets.PACKET_FANOUT_CPU);
        assertEquals(c.get("TPACKET_V1"), (long) PacketSockets.TPACKET_V1);
        assertEquals(c.get("TPACKET_V2"), (long) PacketSockets.TPACKET_V2);
        assertEquals(c.get("TPACKET_V3"), (long) PacketSockets.TPACKET_V3);
        assertEquals(c.get("TP_STATUS_KERNEL"), (long) PacketSockets.TP_STATUS_KERNEL);
        assertEquals(c.get("TP_STATUS_USER"), (long) PacketSockets.TP_STATUS_USER);
        assertEquals(c.get("TP_STATUS_COPY"), (long) PacketSockets.TP_STATUS_COPY);
        assertEquals(c.get("TP_STATUS_LOSING"), (long) PacketSockets.TP_STATUS_LOSING);
        assertEquals(c.get("TP_STATUS_CSUMNOTREADY"), (long) PacketSockets.TP_STATUS_CSUMNOTREADY);
        assertEquals(c.get("TP_STATUS_VLAN_VALID"), (long) PacketSockets.TP_STATUS_VLAN_VALID);
        assertEquals(c.get("TP_STATUS_BLK_TMO"), (long) PacketSockets.TP_STATUS_BLK_TMO);
        assertEquals(c.get("TP_STATUS_VLAN_TPID_VALID"), (long) PacketSockets.TP_STATUS_VLAN_TPID_VALID);
        assertEquals(c.get("TP_STATUS_CSUM_VALID"), (long) PacketSockets.TP_STATUS_CSUM_VALID);
        assertEquals(c.get("TP_STATUS_AVAILABLE"), (long) PacketSockets.TP_STATUS_AVAILABLE);
        assertEquals(c.get("TP_STATUS_SEND_REQUEST"), (long) PacketSockets.TP_STATUS_SEND_REQUEST);
        assertEquals(c.get("TP_STATUS_SENDING"), (long) PacketSockets.TP_STATUS_SENDING);
        assertEquals(c.get("TP_STATUS_WRONG_FORMAT"), (long) PacketSockets.TP_STATUS_WRONG_FORMAT);
    }
}
