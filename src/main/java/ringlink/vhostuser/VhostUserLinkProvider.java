package ringlink.vhostuser;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import ringlink.link.Link;
import ringlink.link.LinkProvider;
import ringlink.link.LinkSpec;
import ringlink.link.Offloads;

/**
 * {@code vhost-user:/path.sock?role=backend|frontend&mode=server|client&queues=1&packed=BOOL&offload=LIST&mtu=1500&timeout=30000&size=256}.
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
 * The link returned is queue pair 0; with {@code queues=N} the others are reachable through
 * {@link VhostUserBackend#link(int)} / {@link VhostUserFrontend#link(int)}.
 */
public final class VhostUserLinkProvider implements LinkProvider {
    @Override public String scheme() { return "vhost-user"; }

    @Override
    public String usage() {
        return "vhost-user:PATH[?role=backend|frontend&mode=server|client&queues=1&packed=BOOL&offload=LIST&mtu=1500&timeout=MS&size=256]"
                + "  vhost-user device (backend, for QEMU/DPDK virtio-user) or driver (frontend, for DPDK net_vhost)";
    }

    @Override
    public Link open(LinkSpec spec) throws IOException {
        spec.checkParams(Set.of("role", "mode", "queues", "packed", "offload", "mtu", "timeout", "size"));
        Path path = Path.of(spec.requireTarget("socket path"));
        String role = spec.param("role", "backend").toLowerCase(Locale.ROOT);
        int queues = spec.intParam("queues", 1, 1, 128);
        Offloads off = Offloads.parse(spec.param("offload", role.equals("backend") ? "all" : "none"));
        switch (role) {
            case "backend" -> {
                String mode = spec.param("mode", "server").toLowerCase(Locale.ROOT);
                BackendConfig c = BackendConfig.defaults().withQueuePairs(queues).withPacked(spec.boolParam("packed", true))
                        .withOffloads(off).withMtu(spec.intParam("mtu", 1500, 68, 65535));
                VhostUserBackend be = switch (mode) {
                    case "server" -> VhostUserBackend.listen(path, c);
                    case "client" -> VhostUserBackend.connect(path, c);
                    default -> throw new IllegalArgumentException(spec + ": mode must be server or client");
                };
                return be.link(0);
            }
            case "frontend" -> {
                String mode = spec.param("mode", "client").toLowerCase(Locale.ROOT);
                FrontendConfig c = FrontendConfig.defaults().withQueuePairs(queues).withPacked(spec.boolParam("packed", false))
                        .withOffloads(off).withQueueSize(spec.intParam("size", 256, 2, 32768));
                VhostUserFrontend fe = switch (mode) {
                    case "client" -> VhostUserFrontend.connect(path, c);
                    case "server" -> VhostUserFrontend.listen(path, c, spec.intParam("timeout", 30_000, 0, Integer.MAX_VALUE));
                    default -> throw new IllegalArgumentException(spec + ": mode must be server or client");
                };
                return fe.link(0);
            }
            default -> throw new IllegalArgumentException(spec + ": role must be backend or frontend");
        }
    }
}
