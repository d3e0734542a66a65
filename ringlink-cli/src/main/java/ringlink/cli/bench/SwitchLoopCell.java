package ringlink.cli.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import ringlink.cli.support.Shell;
import ringlink.link.Links;

/**
 * The switch benchmark of issue 9: dpdk-testpmd's two virtio-user ports looped through a switch
 * with two vhost-user ports, run by {@code bench/switch-loop.sh}. The reference is OVS-DPDK;
 * the Ringlink variant runs {@code ringlink switch} with two {@code vhost-user:} ports and is
 * available once that transport is in the build.
 */
record SwitchLoopCell(boolean ovs, int size) implements BenchCell {
    private static final Pattern RESULT = Pattern.compile("pps=([0-9.]+) gbps=([0-9.]+)");

    @Override public String group() { return "switch vhost-user"; }
    @Override public String variant() { return ovs ? "ovs-dpdk" : "ringlink switch"; }
    @Override public boolean reference() { return ovs; }

    @Override
    public String unavailable() {
        if (script() == null) return "bench/switch-loop.sh not found (run from the source tree, or set RINGLINK_HOME)";
        if (Shell.which("dpdk-testpmd") == null) return "dpdk-testpmd not installed (apt-get install dpdk-dev)";
        if (!Shell.isRoot()) return "needs root (DPDK)";
        if (ovs && !Files.isExecutable(Path.of("/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"))) {
            return "OVS-DPDK not installed (apt-get install openvswitch-switch-dpdk)";
        }
        if (!ovs && !Links.providers().containsKey("vhost-user"))
                return "the vhost-user transport is not in this build yet";
        return null;
    }

    @Override
    public Measurement run(Duration d) throws Exception {
        long secs = Math.max(1, Math.round(d.toMillis() / 1000.0));
        Shell.Result r = Shell.run(secs + 120, "bash", script().toString(), ovs ? "ovs" : "ringlink",
                String.valueOf(size), String.valueOf(secs));
        Matcher m = RESULT.matcher(r.output());
        if (!r.ok() || !m.find())
                throw new IOException("switch-loop.sh " + (ovs ? "ovs" : "ringlink") + " failed: " + tail(r.output()));
        return new Measurement(Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)));
    }

    public static String tail(String s) {
        String t = s.strip();
        return t.length() > 400 ? "..." + t.substring(t.length() - 400) : t;
    }

    /** bench/switch-loop.sh in the source tree: $RINGLINK_HOME, or found from where our classes are. */
    static Path script() {
        return script("switch-loop.sh");
    }

    /** bench/{@code name} in the source tree: $RINGLINK_HOME, or found from where our classes are. */
    static Path script(String name) {
        String home = System.getenv("RINGLINK_HOME");
        if (home != null) {
            Path p = Path.of(home, "bench", name);
            return Files.isRegularFile(p) ? p : null;
        }
        try {
            Path where = Path.of(SwitchLoopCell.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path dir = where; dir != null; dir = dir.getParent()) {
                Path p = dir.resolve("bench").resolve(name);
                if (Files.isRegularFile(p)) return p;
            }
        } catch (Exception ignored) {
            // no code source (unusual class loader): not found
        }
        return null;
    }
}
