package ringlink.virtio;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.packet.VirtioNetHdr;
import ringlink.testing.Env;

/**
 * The ring layouts, flag values and feature bits are bit-exact with the Linux uapi headers
 * ({@code linux/virtio_ring.h}, {@code virtio_config.h}, {@code virtio_net.h}): a C probe
 * compiled with gcc prints offsetof/sizeof/constants, and every one is compared with ours.
 */
class VirtioLayoutTest {

    @Test
    @Timeout(120)
    void layoutsMatchLinuxHeaders() throws IOException {
        Path gcc = Env.requireProgram("gcc", "gcc");
        Env.requireFile(Path.of("/usr/include/linux/virtio_ring.h"),
                "Linux uapi headers (Debian package linux-libc-dev)");

        int n = 256; // for the event-index offsets, which depend on the queue size
        Map<String, Long> expect = new LinkedHashMap<>();
        // split ring
        expect.put("sizeof(struct vring_desc)", 16L);
        expect.put("offsetof(struct vring_desc, addr)", (long) SplitRing.DESC_ADDR);
        expect.put("offsetof(struct vring_desc, len)", (long) SplitRing.DESC_LEN);
        expect.put("offsetof(struct vring_desc, flags)", (long) SplitRing.DESC_FLAGS);
        expect.put("offsetof(struct vring_desc, next)", (long) SplitRing.DESC_NEXT);
        expect.put("offsetof(struct vring_avail, flags)", (long) SplitRing.AVAIL_FLAGS);
        expect.put("offsetof(struct vring_avail, idx)", (long) SplitRing.AVAIL_IDX);
        expect.put("offsetof(struct vring_avail, ring)", (long) SplitRing.AVAIL_RING);
        expect.put("sizeof(struct vring_used_elem)", (long) SplitRing.USED_ELEM_SIZE);
        expect.put("offsetof(struct vring_used_elem, id)", (long) SplitRing.USED_ELEM_ID);
        expect.put("offsetof(struct vring_used_elem, len)", (long) SplitRing.USED_ELEM_LEN);
        expect.put("offsetof(struct vring_used, flags)", (long) SplitRing.USED_FLAGS);
        expect.put("offsetof(struct vring_used, idx)", (long) SplitRing.USED_IDX);
        expect.put("offsetof(struct vring_used, ring)", (long) SplitRing.USED_RING);
        expect.put("used_event_offset", SplitRing.usedEventOffset(n));
        expect.put("avail_event_offset", SplitRing.availEventOffset(n));
        expect.put("vring_used_offset_align4", SplitRing.descTableSize(n) + ((SplitRing.availSize(n) + 3) & ~3L));
        expect.put("VRING_DESC_ALIGN_SIZE", (long) SplitRing.DESC_ALIGN);
        expect.put("VRING_AVAIL_ALIGN_SIZE", (long) SplitRing.AVAIL_ALIGN);
        expect.put("VRING_USED_ALIGN_SIZE", (long) SplitRing.USED_ALIGN);
        // packed ring
        expect.put("sizeof(struct vring_packed_desc)", 16L);
        expect.put("offsetof(struct vring_packed_desc, addr)", (long) PackedRing.DESC_ADDR);
        expect.put("offsetof(struct vring_packed_desc, len)", (long) PackedRing.DESC_LEN);
        expect.put("offsetof(struct vring_packed_desc, id)", (long) PackedRing.DESC_ID);
        expect.put("offsetof(struct vring_packed_desc, flags)", (long) PackedRing.DESC_FLAGS);
        expect.put("sizeof(struct vring_packed_desc_event)", (long) PackedRing.EVENT_SIZE);
        expect.put("offsetof(struct vring_packed_desc_event, off_wrap)", (long) PackedRing.EVENT_OFF_WRAP);
        expect.put("offsetof(struct vring_packed_desc_event, flags)", (long) PackedRing.EVENT_FLAGS);
        // flags
        expect.put("VRING_DESC_F_NEXT", (long) VirtqLayout.VIRTQ_DESC_F_NEXT);
        expect.put("VRING_DESC_F_WRITE", (long) VirtqLayout.VIRTQ_DESC_F_WRITE);
        expect.put("VRING_DESC_F_INDIRECT", (long) VirtqLayout.VIRTQ_DESC_F_INDIRECT);
        expect.put("(1 << VRING_PACKED_DESC_F_AVAIL)", (long) VirtqLayout.VIRTQ_DESC_F_AVAIL);
        expect.put("(1 << VRING_PACKED_DESC_F_USED)", (long) VirtqLayout.VIRTQ_DESC_F_USED);
        expect.put("VRING_USED_F_NO_NOTIFY", (long) VirtqLayout.VIRTQ_USED_F_NO_NOTIFY);
        expect.put("VRING_AVAIL_F_NO_INTERRUPT", (long) VirtqLayout.VIRTQ_AVAIL_F_NO_INTERRUPT);
        expect.put("VRING_PACKED_EVENT_FLAG_ENABLE", (long) VirtqLayout.RING_EVENT_FLAGS_ENABLE);
        expect.put("VRING_PACKED_EVENT_FLAG_DISABLE", (long) VirtqLayout.RING_EVENT_FLAGS_DISABLE);
        expect.put("VRING_PACKED_EVENT_FLAG_DESC", (long) VirtqLayout.RING_EVENT_FLAGS_DESC);
        expect.put("VRING_PACKED_EVENT_F_WRAP_CTR", 15L);
        // virtio-net header (shared class, checked here because it is what the rings carry)
        expect.put("sizeof(struct virtio_net_hdr)", (long) VirtioNetHdr.SIZE);
        expect.put("sizeof(struct virtio_net_hdr_mrg_rxbuf)", (long) VirtioNetHdr.SIZE_MRG);
        expect.put("offsetof(struct virtio_net_hdr, flags)", (long) VirtioNetHdr.OFF_FLAGS);
        expect.put("offsetof(struct virtio_net_hdr, gso_type)", (long) VirtioNetHdr.OFF_GSO_TYPE);
        expect.put("offsetof(struct virtio_net_hdr, hdr_len)", (long) VirtioNetHdr.OFF_HDR_LEN);
        expect.put("offsetof(struct virtio_net_hdr, gso_size)", (long) VirtioNetHdr.OFF_GSO_SIZE);
        expect.put("offsetof(struct virtio_net_hdr, csum_start)", (long) VirtioNetHdr.OFF_CSUM_START);
        expect.put("offsetof(struct virtio_net_hdr, csum_offset)", (long) VirtioNetHdr.OFF_CSUM_OFFSET);
        expect.put("offsetof(struct virtio_net_hdr_mrg_rxbuf, num_buffers)", (long) VirtioNetHdr.OFF_NUM_BUFFERS);
        expect.put("VIRTIO_NET_HDR_F_NEEDS_CSUM", (long) VirtioNetHdr.F_NEEDS_CSUM);
        expect.put("VIRTIO_NET_HDR_F_DATA_VALID", (long) VirtioNetHdr.F_DATA_VALID);
        expect.put("VIRTIO_NET_HDR_GSO_TCPV4", (long) VirtioNetHdr.GSO_TCPV4);
        expect.put("VIRTIO_NET_HDR_GSO_UDP", (long) VirtioNetHdr.GSO_UDP);
        expect.put("VIRTIO_NET_HDR_GSO_TCPV6", (long) VirtioNetHdr.GSO_TCPV6);
        expect.put("VIRTIO_NET_HDR_GSO_ECN", (long) VirtioNetHdr.GSO_ECN);
        // Optional names (newer than some headers): compared only if the header defines them.
        Map<String, Long> optional = new HashMap<>();
        optional.put("VIRTIO_NET_HDR_GSO_UDP_L4", (long) VirtioNetHdr.GSO_UDP_L4);
        for (VirtioFeature f : VirtioFeature.values()) optional.put(f.specName(), (long) f.bit());

        StringBuilder c = new StringBuilder("""
                #include <stdio.h>
                #include <stddef.h>
                #include <linux/virtio_ring.h>
                #include <linux/virtio_config.h>
                #include <linux/virtio_net.h>
                #include <linux/vhost_types.h>
                #define P(name, expr) printf("%s=%lld\\n", name, (long long)(expr))
                int main(void) {
                  static char mem[1 << 16] __attribute__((aligned(4096)));
                  struct vring vr;
                  vring_init(&vr, 256, mem, 4);
                  P("used_event_offset", (char *)&vring_used_event(&vr) - (char *)vr.avail);
                  P("avail_event_offset", (char *)&vring_avail_event(&vr) - (char *)vr.used);
                  P("vring_used_offset_align4", (char *)vr.used - (char *)vr.desc);
                """);
        for (String k : expect.keySet()) {
            if (k.contains("(") || k.startsWith("V")) {
                if (!k.endsWith("_offset") && !k.endsWith("_align4"))
                        c.append("  P(\"").append(k).append("\", ").append(k).append(");\n");
            }
        }
        for (String k : optional.keySet()) {
            c.append("#ifdef ").append(k).append("\n  P(\"").append(k).append("\", ").append(k).append(");\n#endif\n");
        }
        c.append("  return 0;\n}\n");

        Path dir = Files.createDirectories(Env.buildDir().resolve("virtio-layout-probe"));
        Path src = dir.resolve("probe.c");
        Path bin = dir.resolve("probe");
        Files.writeString(src, c);
        Env.run(60, gcc.toString(), "-O0", "-Wall", "-o", bin.toString(), src.toString());
        String out = Env.run(30, bin.toString());

        Map<String, Long> got = new HashMap<>();
        for (String line : out.split("\n")) {
            int eq = line.lastIndexOf('=');
            if (eq > 0) got.put(line.substring(0, eq), Long.parseLong(line.substring(eq + 1)));
        }
        for (var e : expect.entrySet()) {
            assertEquals(got.get(e.getKey()), e.getValue(), e.getKey());
        }
        int optionalChecked = 0;
        for (var e : optional.entrySet()) {
            if (got.containsKey(e.getKey())) {
                assertEquals(got.get(e.getKey()), e.getValue(), e.getKey());
                optionalChecked++;
            }
        }
        // The core feature bits must be in any header we build against.
        for (String must : new String[] {"VIRTIO_F_VERSION_1", "VIRTIO_F_RING_PACKED", "VIRTIO_F_IN_ORDER",
                "VIRTIO_RING_F_EVENT_IDX", "VIRTIO_RING_F_INDIRECT_DESC", "VIRTIO_NET_F_MRG_RXBUF", "VIRTIO_NET_F_CSUM"
                        }) {
            assertTrue(got.containsKey(must), must + " missing from the probe output");
        }
        assertTrue(optionalChecked >= 30, "only " + optionalChecked + " feature names checked");
    }
}
