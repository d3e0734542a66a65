package ringlink.vhost;

import java.io.IOException;
import java.util.Set;
import ringlink.link.Link;
import ringlink.link.LinkProvider;
import ringlink.link.LinkSpec;
import ringlink.link.Offloads;
import ringlink.virtio.FeatureSet;
import ringlink.virtio.VirtioFeature;

/**
 * {@code vhost-net:tap=NAME?offload=tso,uso&queue-size=256&mrg-rxbuf=auto&event-idx=auto&indirect=auto}
 * {@code &device=/dev/vhost-net}
 * (also {@code vhost-net:NAME}). Feature parameters are {@code auto} (use if the kernel offers
 * it), {@code on} (fail if it does not) or {@code off}. {@code sndbuf=max} (default), {@code
 * default} (leave the kernel's, unlimited for a new queue) or a byte count sets the TAP's send
 * buffer ({@link VhostNetLink.Options#tapSndbuf()}: a finite one turns the kernel's transmit
 * batching off).
 */
public final class VhostNetLinkProvider implements LinkProvider {
    @Override public String scheme() { return "vhost-net"; }

    @Override
    public String usage() {
        return "vhost-net:tap=NAME[?offload=all&queue-size=256&mrg-rxbuf|event-idx|indirect=auto|on|off&rx-buffer=N&snd"
                + "buf=max|default|N]"
                + "  kernel vhost-net with a TAP backend";
    }

    @Override
    public Link open(LinkSpec spec) throws IOException {
        spec.checkParams(
                Set.of("offload", "queue-size", "mrg-rxbuf", "event-idx", "indirect", "device", "rx-buffer", "sndbuf"));
        String tap = spec.requireTarget("TAP name");
        if (tap.startsWith("tap=")) tap = tap.substring(4);
        if (tap.isEmpty()) throw new IllegalArgumentException(spec + ": missing TAP name (e.g. vhost-net:tap=rl0)");
        FeatureSet wanted = FeatureSet.of(VirtioFeature.VERSION_1);
        FeatureSet required = FeatureSet.NONE;
        for (var f : new Object[][] {{"mrg-rxbuf", VirtioFeature.NET_MRG_RXBUF}, {"event-idx", VirtioFeature.EVENT_IDX},
                {"indirect", VirtioFeature.INDIRECT_DESC}}) {
            String v = spec.param((String) f[0], "auto").trim().toLowerCase(java.util.Locale.ROOT);
            VirtioFeature feature = (VirtioFeature) f[1];
            switch (v) {
                case "auto" -> wanted = wanted.with(feature);
                case "on", "true", "yes", "1" -> {
                    wanted = wanted.with(feature);
                    required = required.with(feature);
                }
                case "off", "false", "no", "0" -> { }
                default ->
                        throw new IllegalArgumentException(spec + ": " + f[0] + "=" + v + " must be auto, on or off");
            }
        }
        VhostNetLink.Options o = new VhostNetLink.Options(tap, spec.param("device", VhostDevice.VHOST_NET_PATH),
                Offloads.parse(spec.param("offload", "all")), spec.intParam("queue-size", 256, 2, 32768),
                wanted, required, spec.intParam("rx-buffer", 0, 0, 1 << 20), sndbuf(spec));
        return VhostNetLink.open(o);
    }

    private static int sndbuf(LinkSpec spec) {
        String v = spec.param("sndbuf", "max").trim().toLowerCase(java.util.Locale.ROOT);
        return switch (v) {
            case "max" -> Integer.MAX_VALUE;
            case "default" -> 0;
            default -> {
                try {
                    int n = Integer.parseInt(v);
                    if (n > 0) yield n;
                } catch (NumberFormatException e) {
                    // said below
                }
                throw new IllegalArgumentException(spec + ": sndbuf=" + v
                        + " must be max, default or a byte count > 0");
            }
        };
    }
}
