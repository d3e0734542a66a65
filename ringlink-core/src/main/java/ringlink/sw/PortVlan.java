package ringlink.sw;

import java.util.Arrays;
import java.util.Locale;

/**
 * A port's VLAN membership on a VLAN-aware switch (IEEE 802.1Q).
 *
 * <ul>
 *   <li>access port: member of one VLAN; frames leave untagged; arriving frames must be untagged
 *       (or priority-tagged, VID 0).</li>
 *   <li>trunk port: member of a set of VLANs; frames leave tagged, except in its native VLAN
 *       (if any), where they leave untagged and untagged arrivals belong to it.</li>
 * </ul>
 * On a switch that is not VLAN-aware every port is in one domain and tags pass untouched.
 */
public final class PortVlan {
    /** The default on a VLAN-aware switch: an access port in VLAN 1. */
    public static final PortVlan DEFAULT = access(1);

    private final long[] members = new long[64];
    private final int untagged; // access VID or native VID; -1 if none
    private final boolean trunk;

    private PortVlan(boolean trunk, int untagged) {
        this.trunk = trunk;
        this.untagged = untagged;
    }

    /** An access port in VLAN {@code vid} (1..4094). */
    public static PortVlan access(int vid) {
        check(vid);
        PortVlan p = new PortVlan(false, vid);
        p.add(vid);
        return p;
    }

    /** A trunk port carrying {@code vids} tagged, and {@code nativeVid} untagged (-1 for none). */
    public static PortVlan trunk(int nativeVid, int... vids) {
        if (nativeVid != -1) check(nativeVid);
        PortVlan p = new PortVlan(true, nativeVid);
        for (int v : vids) {
            check(v);
            p.add(v);
        }
        if (nativeVid != -1) p.add(nativeVid);
        return p;
    }

    /**
     * Parses the switch's port parameters: {@code vlan=10} (access) or {@code trunk=10,20,30-39}
     * with optional {@code native=1}. Returns null when none is given.
     */
    public static PortVlan parse(String access, String trunkList, String nativeVid) {
        if (access != null && trunkList != null) throw new IllegalArgumentException(
                "a port is either an access port (vlan=) or a trunk (trunk=), not both");
        if (access != null) {
            if (nativeVid != null) throw new IllegalArgumentException("native= applies to trunk ports only");
            return access(parseVid(access));
        }
        if (trunkList == null) {
            if (nativeVid != null) throw new IllegalArgumentException("native= needs trunk=");
            return null;
        }
        int[] vids = new int[0];
        for (String t : trunkList.split(",")) {
            t = t.trim();
            if (t.isEmpty()) continue;
            int dash = t.indexOf('-');
            int lo = parseVid(dash < 0 ? t : t.substring(0, dash));
            int hi = dash < 0 ? lo : parseVid(t.substring(dash + 1));
            if (hi < lo) throw new IllegalArgumentException("empty VLAN range '" + t + "'");
            int at = vids.length;
            vids = Arrays.copyOf(vids, at + hi - lo + 1);
            for (int v = lo; v <= hi; v++) vids[at + v - lo] = v;
        }
        return trunk(nativeVid == null ? -1 : parseVid(nativeVid), vids);
    }

    private static int parseVid(String s) {
        try {
            int v = Integer.parseInt(s.trim());
            check(v);
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("VLAN id '" + s + "' is not a number in [1, 4094]");
        }
    }

    private static void check(int vid) {
        if (vid < 1 || vid > 4094) throw new IllegalArgumentException("VLAN id " + vid + " not in [1, 4094]");
    }

    private void add(int vid) {
        members[vid >>> 6] |= 1L << vid;
    }

    /** True if the port carries VLAN {@code vid}. */
    public boolean member(int vid) {
        return (members[vid >>> 6] & (1L << vid)) != 0;
    }

    /** True if frames of {@code vid} leave this port tagged. */
    public boolean tagged(int vid) {
        return trunk && vid != untagged;
    }

    /** The VLAN untagged frames arriving here belong to, or -1 if they are dropped. */
    public int untaggedVid() {
        return untagged;
    }

    /** True for a trunk port, false for an access port. */
    public boolean isTrunk() {
        return trunk;
    }

    @Override
    public String toString() {
        if (!trunk) return "access " + untagged;
        StringBuilder sb = new StringBuilder("trunk ");
        int n = 0;
        for (int v = 1; v < 4095; v++) {
            if (member(v) && v != untagged) sb.append(n++ == 0 ? "" : ",").append(v);
        }
        if (untagged != -1) sb.append(" native ").append(untagged);
        return sb.toString().toLowerCase(Locale.ROOT);
    }
}
