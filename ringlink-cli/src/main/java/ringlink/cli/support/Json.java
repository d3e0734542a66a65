package ringlink.cli.support;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A small strict JSON (RFC 8259) reader and writer for the control socket. Values map to
 * {@code Map<String, Object>} (insertion order), {@code List<Object>}, {@code String},
 * {@code Long}/{@code Double}, {@code Boolean} and {@code null}.
 *
 * <p>Why not Jackson: the control socket speaks a handful of tiny messages from possibly
 * hostile local clients; a 100-line reader with a hard nesting limit and nothing reflective is
 * easier to bound than a general data binder, and keeps the CLI jar as it was.
 *
 * <p>{@link Framer} finds where one JSON object ends in a byte stream, which is how OVS's
 * jsonrpc frames messages (no length prefix, one object after another).
 */
public final class Json {
    /** Deepest nesting accepted: unixctl messages nest two levels. */
    public static final int MAX_DEPTH = 32;

    private final String s;
    private int i;

    private Json(String s) {
        this.s = s;
    }

    /** Parses one JSON value that must make up all of {@code text} (whitespace around allowed). */
    public static Object parse(String text) {
        Json p = new Json(text);
        p.ws();
        Object v = p.value(0);
        p.ws();
        if (p.i != text.length()) throw p.error("trailing characters");
        return v;
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("invalid JSON at offset " + i + ": " + what);
    }

    private void ws() {
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
            i++;
        }
    }

    private Object value(int depth) {
        if (depth > MAX_DEPTH) throw error("nested deeper than " + MAX_DEPTH);
        if (i >= s.length()) throw error("unexpected end");
        char c = s.charAt(i);
        switch (c) {
            case '{': {
                i++;
                Map<String, Object> m = new LinkedHashMap<>();
                ws();
                if (peek('}')) return m;
                while (true) {
                    ws();
                    if (i >= s.length() || s.charAt(i) != '"') throw error("expected a member name");
                    String k = string();
                    ws();
                    expect(':');
                    ws();
                    if (m.containsKey(k)) throw error("duplicate member \"" + k + "\"");
                    m.put(k, value(depth + 1));
                    ws();
                    if (peek('}')) return m;
                    expect(',');
                }
            }
            case '[': {
                i++;
                List<Object> l = new ArrayList<>();
                ws();
                if (peek(']')) return l;
                while (true) {
                    ws();
                    l.add(value(depth + 1));
                    ws();
                    if (peek(']')) return l;
                    expect(',');
                }
            }
            case '"':
                return string();
            case 't':
                literal("true");
                return Boolean.TRUE;
            case 'f':
                literal("false");
                return Boolean.FALSE;
            case 'n':
                literal("null");
                return null;
            default:
                if (c == '-' || (c >= '0' && c <= '9')) return number();
                throw error("unexpected '" + c + "'");
        }
    }

    private boolean peek(char c) {
        if (i < s.length() && s.charAt(i) == c) {
            i++;
            return true;
        }
        return false;
    }

    private void expect(char c) {
        if (!peek(c)) throw error("expected '" + c + "'");
    }

    private void literal(String w) {
        if (!s.startsWith(w, i)) throw error("expected " + w);
        i += w.length();
    }

    private Object number() {
        int start = i;
        peek('-');
        if (peek('0')) {
            // no leading zeros
        } else if (!digits()) {
            throw error("expected a digit");
        }
        boolean frac = false;
        if (peek('.')) {
            frac = true;
            if (!digits()) throw error("expected a digit after '.'");
        }
        if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
            frac = true;
            i++;
            if (!peek('+')) peek('-');
            if (!digits()) throw error("expected an exponent");
        }
        String t = s.substring(start, i);
        if (!frac) {
            try {
                return Long.parseLong(t);
            } catch (NumberFormatException e) {
                // too big for a long: a double, as JSON allows
            }
        }
        return Double.parseDouble(t);
    }

    private boolean digits() {
        int start = i;
        while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') i++;
        return i > start;
    }

    private String string() {
        expect('"');
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (i >= s.length()) throw error("unterminated string");
            char c = s.charAt(i++);
            if (c == '"') return sb.toString();
            if (c < 0x20) throw error("control character in a string");
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            if (i >= s.length()) throw error("unterminated escape");
            char e = s.charAt(i++);
            switch (e) {
                case '"', '\\', '/' -> sb.append(e);
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    if (i + 4 > s.length()) throw error("short \\u escape");
                    try {
                        sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                    } catch (NumberFormatException x) {
                        throw error("bad \\u escape");
                    }
                    i += 4;
                }
                default -> throw error("bad escape \\" + e);
            }
        }
    }

    /** Writes {@code v} (maps, collections, strings, numbers, booleans, null) as compact JSON. */
    public static String write(Object v) {
        StringBuilder sb = new StringBuilder();
        write(sb, v);
        return sb.toString();
    }

    public static void write(StringBuilder sb, Object v) {
        switch (v) {
            case null -> sb.append("null");
            case String str -> quote(sb, str);
            case Boolean b -> sb.append(b);
            case Double d -> sb.append(d.isNaN() || d.isInfinite() ? "null" : String.format(Locale.ROOT, "%s", d));
            case Float f -> write(sb, f.doubleValue());
            case Number n -> sb.append(n.longValue());
            case Map<?, ?> m -> {
                sb.append('{');
                boolean first = true;
                for (var e : m.entrySet()) {
                    if (!first) sb.append(',');
                    first = false;
                    quote(sb, String.valueOf(e.getKey()));
                    sb.append(':');
                    write(sb, e.getValue());
                }
                sb.append('}');
            }
            case Collection<?> c -> {
                sb.append('[');
                boolean first = true;
                for (Object o : c) {
                    if (!first) sb.append(',');
                    first = false;
                    write(sb, o);
                }
                sb.append(']');
            }
            default -> quote(sb, v.toString());
        }
    }

    /** Appends {@code s} as a JSON string: quoted, with quotes, backslashes and control characters escaped. */
    public static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }

    /**
     * Splits a byte stream into top-level JSON objects, as OVS's jsonrpc does: each message is one
     * object, nothing between them but whitespace. Feed bytes; {@link #feed} returns how many it
     * used, and {@link #complete()} says when an object ended. UTF-8 needs no decoding to frame:
     * every byte of a multi-byte character is ≥ 0x80.
     */
    public static final class Framer {
        private final int max;
        private final java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        private int depth;
        private boolean inString, escape, started, complete;

        public Framer(int maxBytes) {
            this.max = maxBytes;
        }

        /**
         * Takes bytes {@code [off, off+len)} up to the end of the current object; returns how many
         * it took.
         *
         * @throws IllegalArgumentException the message is longer than the limit, or does not start with '{'
         */
        public int feed(byte[] b, int off, int len) {
            int k = off;
            while (k < off + len && !complete) {
                byte c = b[k++];
                if (!started) {
                    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
                    if (c != '{')
                            throw new IllegalArgumentException("a message must be a JSON object (starts with '{')");
                    started = true;
                }
                if (buf.size() >= max) throw new IllegalArgumentException("message longer than " + max + " bytes");
                buf.write(c);
                if (inString) {
                    if (escape) escape = false;
                    else if (c == '\\') escape = true;
                    else if (c == '"') inString = false;
                } else if (c == '"') {
                    inString = true;
                } else if (c == '{' || c == '[') {
                    if (++depth > MAX_DEPTH) throw new IllegalArgumentException("nested deeper than " + MAX_DEPTH);
                } else if (c == '}' || c == ']') {
                    if (--depth == 0) complete = true;
                }
            }
            return k - off;
        }

        public boolean complete() {
            return complete;
        }

        /** True if part of a message has arrived. */
        public boolean partial() {
            return started && !complete;
        }

        /** The complete message's text; resets for the next one. */
        public String take() {
            String t = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
            buf.reset();
            depth = 0;
            inString = escape = started = complete = false;
            return t;
        }
    }
}
