/**
 * Ringlink: fast, safe packet I/O for the JVM over shared-memory rings and kernel interfaces,
 * every system call made through the FFM API.
 *
 * <p>Start with {@link ringlink.link.Links#open(String)} (a link from a spec such as
 * {@code tap:rl0}) or a transport's own link class, move packets in
 * {@link ringlink.packet.PacketBatch}es, and join links with {@link ringlink.sw.Switch}.
 *
 * <p>Native access must be enabled for this module: {@code --enable-native-access=ringlink.core}
 * on the module path, {@code --enable-native-access=ALL-UNNAMED} on the class path.
 *
 * <p>{@code ringlink.sys} (the system calls) is internal and not exported.
 */
module ringlink.core {
    // JFR events (DropEvent, LinkCountersEvent, ...) are public types extending jdk.jfr.Event.
    requires transitive jdk.jfr;

    exports ringlink.link;
    exports ringlink.packet;
    exports ringlink.sw;
    exports ringlink.afpacket;
    exports ringlink.memif;
    exports ringlink.shm;
    exports ringlink.tun;
    exports ringlink.tunnel;
    exports ringlink.udp;
    exports ringlink.vhost;
    exports ringlink.vhostuser;
    exports ringlink.xdp;
    // The virtqueue engine: FeatureSet is in vhost's and vhost-user's API, GuestMemory in
    // VhostDevice's; a custom virtio device builds on its rings. ringlink.virtio.net (the net
    // device's header handling) stays internal: the links wrap it.
    exports ringlink.virtio;
    // Not exported: ringlink.sys (every system call; internal), ringlink.virtio.net.

    // Links.open(spec) finds its transports through ServiceLoader, on the module path through
    // these and on the class path through META-INF/services/ringlink.link.LinkProvider (keep both;
    // ModuleDescriptorTest checks they agree).
    uses ringlink.link.LinkProvider;
    provides ringlink.link.LinkProvider with
            ringlink.link.PairLinkProvider,
            ringlink.tun.TunLinkProvider,
            ringlink.tun.TapLinkProvider,
            ringlink.shm.ShmLinkProvider,
            ringlink.xdp.XdpLinkProvider,
            ringlink.vhost.VhostNetLinkProvider,
            ringlink.vhostuser.VhostUserLinkProvider,
            ringlink.memif.MemifLinkProvider,
            ringlink.udp.UdpLinkProvider,
            ringlink.tunnel.TunnelLinkProvider.Vxlan,
            ringlink.tunnel.TunnelLinkProvider.Geneve,
            ringlink.afpacket.PacketLinkProvider;
}
