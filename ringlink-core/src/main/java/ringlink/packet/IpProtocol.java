package ringlink.packet;

/** IP protocol numbers ({@code <linux/in.h>}, {@code <linux/in6.h>}; IANA "Protocol Numbers"). */
public final class IpProtocol {
    private IpProtocol() {}

    /** IPv6 hop-by-hop options (only directly after the IPv6 header). */
    public static final int IPPROTO_HOPOPTS = 0;
    /** ICMP for IPv4. */
    public static final int IPPROTO_ICMP = 1;
    /** TCP. */
    public static final int IPPROTO_TCP = 6;
    /** UDP. */
    public static final int IPPROTO_UDP = 17;
    /** IPv6 encapsulated (6in4). */
    public static final int IPPROTO_IPV6 = 41;
    /** IPv6 routing extension header. */
    public static final int IPPROTO_ROUTING = 43;
    /** IPv6 fragment extension header. */
    public static final int IPPROTO_FRAGMENT = 44;
    /** Encapsulating Security Payload. */
    public static final int IPPROTO_ESP = 50;
    /** Authentication Header. */
    public static final int IPPROTO_AH = 51;
    /** ICMPv6. */
    public static final int IPPROTO_ICMPV6 = 58;
    /** IPv6 "no next header". */
    public static final int IPPROTO_NONE = 59;
    /** IPv6 destination options extension header. */
    public static final int IPPROTO_DSTOPTS = 60;
    /** SCTP. */
    public static final int IPPROTO_SCTP = 132;
    /** UDP-Lite. */
    public static final int IPPROTO_UDPLITE = 136;
}
