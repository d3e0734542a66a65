package ringlink.tun;

/** {@code tap:NAME?...}: an L2 TAP queue; parameters as for {@code tun:} ({@link TunLinkProvider}). */
public final class TapLinkProvider extends TunLinkProvider {
    @Override public String scheme() { return "tap"; }

    @Override boolean tap() { return true; }
}
