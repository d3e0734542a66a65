package ringlink.vhostuser;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import ringlink.link.Link;
import ringlink.link.LinkDevice;
import ringlink.link.LinkProvider;
import ringlink.link.LinkSpec;
import ringlink.link.Offloads;

/**
 * {@code vhost-user:/path.sock?role=backend|frontend&mode=server|client&queues=1&packed=BOOL&offload=LIST}
 * {@code &mtu=1500&timeout=30000&size=256}.
 *
 * <ul>
 * <li>{@code role=backend} (default): we are the virtio-net device for QEMU or DPDK virtio-user.
 *     {@code mode=server} (default) listens on the path and accepts front-ends one after the
 *     other (reconnect); {@code mode=client} connects to a front-end that listens (QEMU
 *     {@code server=on}) and reconnects when it goes away. {@code packed} says whether packed
 *     rings are offered (default true; the front-end chooses).</li>
 * <li>{@code role=frontend}: we are the driver. {@code mode=client} (default) connects to a
 *     listening back-end (DPDK net_vhost's default); {@code mode=server} listens and waits up to
 *     {@code timeout} ms for the back-end. {@code packed=true} requires packed rings (default
 *     false); {@code size} is the queue size the driver sets up (default 256).</li>
 * </ul>
 * {@link #open} returns queue pair 0 (with {@code queues=N} the others are reachable through
 * {@link VhostUserBackend#link(int)} / {@link VhostUserFrontend#link(int)}); {@link #openDevice}
 * returns every queue pair as one {@link LinkDevice}, whose {@link LinkDevice#transmitEnabled}
 * follows the rings the front-end has started and enabled (a guest uses one pair until its driver
 * turns multi-queue on, and changes the count with {@code ethtool -L}). Closing the device or any
 * of its links closes the whole back-end / front-end.
 */
public final class VhostUserLinkProvider implements LinkProvider {
    @Override public String scheme() { return "vhost-user"; }

    @Override
    public String usage() {
        return "vhost-user:PATH[?role=backend|frontend&mode=server|client&queues=1&packed=BOOL&offload=LIST&mtu=1500&ti"
                + "meout=MS&size=256]"
                + "  vhost-user device (backend, for QEMU/DPDK virtio-user) or driver (frontend, for DPDK net_vhost)";
    }

    @Override
    public Link open(LinkSpec spec) throws IOException {
        Object o = openEnd(spec);
        return o instanceof VhostUserBackend be ? be.link(0) : ((VhostUserFrontend) o).link(0);
    }

    @Override
    public LinkDevice openDevice(LinkSpec spec) throws IOException {
        Object o = openEnd(spec);
        String name = spec.toString();
        if (o instanceof VhostUserBackend be) {
            return new LinkDevice() {
                @Override public String name() { return name; }
                @Override public int queueCount() { return be.config().queuePairs(); }
                @Override public Link queue(int i) { return be.link(i); }
                // The guest's RX ring of that pair started and enabled: packets put there arrive.
                @Override public boolean transmitEnabled(int i) { return be.link(i).isRunning(); }
                @Override public void close() { be.close(); }
                @Override public String toString() { return name; }
            };
        }
        VhostUserFrontend fe = (VhostUserFrontend) o;
        List<Link> q = new ArrayList<>();
        for (int i = 0, n = spec.intParam("queues", 1, 1, 128); i < n; i++) q.add(fe.link(i));
        return LinkDevice.of(name, q);
    }

    /** The back-end or front-end the spec describes. */
    private static Object openEnd(LinkSpec spec) throws IOException {
        spec.checkParams(Set.of("role", "mode", "queues", "packed", "offload", "mtu", "timeout", "size"));
        Path path = Path.of(spec.requireTarget("socket path"));
        String role = spec.param("role", "backend").toLowerCase(Locale.ROOT);
        int queues = spec.intParam("queues", 1, 1, 128);
        Offloads off = Offloads.parse(spec.param("offload", role.equals("backend") ? "all" : "none"));
        switch (role) {
            case "backend" -> {
                String mode = spec.param("mode", "server").toLowerCase(Locale.ROOT);
                BackendConfig c =
                        BackendConfig.defaults().withQueuePairs(queues).withPacked(spec.boolParam("packed", true))
                        .withOffloads(off).withMtu(spec.intParam("mtu", 1500, 68, 65535));
                VhostUserBackend be = switch (mode) {
                    case "server" -> VhostUserBackend.listen(path, c);
                    case "client" -> VhostUserBackend.connect(path, c);
                    default -> throw new IllegalArgumentException(spec + ": mode must be server or client");
                };
                return be;
            }
            case "frontend" -> {
                String mode = spec.param("mode", "client").toLowerCase(Locale.ROOT);
                FrontendConfig c =
                        FrontendConfig.defaults().withQueuePairs(queues).withPacked(spec.boolParam("packed", false))
                        .withOffloads(off).withQueueSize(spec.intParam("size", 256, 2, 32768));
                VhostUserFrontend fe = switch (mode) {
                    case "client" -> VhostUserFrontend.connect(path, c);
                    case "server" ->
                            VhostUserFrontend.listen(path, c, spec.intParam("timeout", 30_000, 0, Integer.MAX_VALUE));
                    default -> throw new IllegalArgumentException(spec + ": mode must be server or client");
                };
                return fe;
            }
            default -> throw new IllegalArgumentException(spec + ": role must be backend or frontend");
        }
    }
}
