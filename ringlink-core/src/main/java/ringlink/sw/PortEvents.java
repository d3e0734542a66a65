package ringlink.sw;

/**
 * Commits the switch's port JFR events ({@link PortUpEvent}, {@link PortDownEvent}): one place for
 * what a start, an added port, a recovery, a removal, a failure and a shutdown all report. Not on
 * the forwarding path (a port's state changes).
 */
final class PortEvents {
    private PortEvents() {}

    /** {@code p} started forwarding (switch start, port added, port back up). */
    static void up(Port p) {
        PortUpEvent e = new PortUpEvent();
        if (e.isEnabled()) {
            e.port = p.name;
            e.offloads = p.link.offloads().toString();
            e.mtu = p.link.mtu();
            e.commit();
        }
    }

    /** {@code p} stopped forwarding, for {@code reason}. */
    static void down(Port p, String reason) {
        PortDownEvent e = new PortDownEvent();
        if (e.isEnabled()) {
            e.port = p.name;
            e.reason = reason;
            e.commit();
        }
    }
}
