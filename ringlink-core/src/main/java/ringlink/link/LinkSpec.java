package ringlink.link;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A link named as a string: {@code scheme:target?key=value&key2=value2}.
 *
 * <p>Examples: {@code tap:rl0?offload=tso,uso}, {@code tun:rl1}, {@code vhost-user:/run/vm.sock?mode=server},
 * {@code vhost-net:tap=rl2}, {@code xdp:veth1?queue=0}, {@code shm:/run/sb.sock}, {@code pair:test}.
 *
 * @param scheme the part before the first colon, lower-cased (letters, digits and '-', starting with a letter)
 * @param target the part between the colon and the first '?' (may be empty)
 * @param params the {@code key=value} parameters in the order given (unmodifiable)
 */
public record LinkSpec(String scheme, String target, Map<String, String> params) {

    /** Copies {@code params} (keeping their order) into an unmodifiable map. */
    public LinkSpec {
        params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
    }

    /**
     * Parses a spec.
     *
     * @throws IllegalArgumentException with a message that shows the expected form
     */
    public static LinkSpec parse(String s) {
        if (s == null || s.isBlank())
                throw new IllegalArgumentException("empty link spec (expected scheme:target?key=value, e.g. tap:rl0)");
        int colon = s.indexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("link spec '" + s
                    + "' has no scheme (expected scheme:target?key=value, e.g. tap:rl0)");
        }
        String scheme = s.substring(0, colon).toLowerCase(Locale.ROOT);
        if (!scheme.matches("[a-z][a-z0-9-]*"))
                throw new IllegalArgumentException("bad scheme '" + scheme + "' in link spec '" + s + "'");
        String rest = s.substring(colon + 1);
        String target = rest;
        Map<String, String> params = new LinkedHashMap<>();
        int q = rest.indexOf('?');
        if (q >= 0) {
            target = rest.substring(0, q);
            for (String kv : rest.substring(q + 1).split("&")) {
                if (kv.isEmpty()) continue;
                int eq = kv.indexOf('=');
                String k = decode(eq < 0 ? kv : kv.substring(0, eq));
                String v = eq < 0 ? "" : decode(kv.substring(eq + 1));
                if (k.isEmpty()) throw new IllegalArgumentException("empty parameter name in link spec '" + s + "'");
                if (params.put(k, v) != null) throw new IllegalArgumentException("parameter '" + k
                        + "' given twice in link spec '" + s + "'");
            }
        }
        return new LinkSpec(scheme, decode(target), params);
    }

    private static String decode(String x) {
        return URLDecoder.decode(x, StandardCharsets.UTF_8);
    }

    /** A parameter or its default. */
    public String param(String key, String def) {
        return params.getOrDefault(key, def);
    }

    /** An integer parameter in [min, max], or its default. */
    public int intParam(String key, int def, int min, int max) {
        String v = params.get(key);
        if (v == null) return def;
        try {
            int x = Integer.parseInt(v.trim());
            if (x < min || x > max) throw new NumberFormatException();
            return x;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(this + ": parameter " + key + "=" + v + " must be an integer in [" + min
                    + ", " + max + "]");
        }
    }

    /** A boolean parameter (true/false/yes/no/on/off/1/0; present without value = true), or its default. */
    public boolean boolParam(String key, boolean def) {
        String v = params.get(key);
        if (v == null) return def;
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "", "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw new IllegalArgumentException(this + ": parameter " + key + "=" + v
                    + " must be true or false");
        };
    }

    /** Fails if a parameter is not one of {@code known}: typos get a clear error, not silence. */
    public void checkParams(Set<String> known) {
        for (String k : params.keySet()) {
            if (!known.contains(k)) {
                throw new IllegalArgumentException(this + ": unknown parameter '" + k + "' for " + scheme
                        + " (known: " + String.join(", ", new java.util.TreeSet<>(known)) + ")");
            }
        }
    }

    /** Requires a non-empty target. */
    public String requireTarget(String what) {
        if (target.isEmpty())
                throw new IllegalArgumentException(this + ": missing " + what + " (e.g. " + scheme + ":NAME)");
        return target;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(scheme).append(':').append(target);
        char sep = '?';
        for (var e : params.entrySet()) {
            sb.append(sep).append(e.getKey());
            if (!e.getValue().isEmpty()) sb.append('=').append(e.getValue());
            sep = '&';
        }
        return sb.toString();
    }
}
