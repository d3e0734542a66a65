package ringlink.packet;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/** jqwik generators of test packet specs. */
final class Generators {
    private Generators() {}

    static Arbitrary<TestPackets.Spec> specs() {
        return specs(Arbitraries.bytes().array(byte[].class).ofMaxSize(1400));
    }

    static Arbitrary<TestPackets.Spec> specs(Arbitrary<byte[]> payloads) {
        Arbitrary<Framing> framing = Arbitraries.of(Framing.class);
        Arbitrary<Integer> version = Arbitraries.of(4, 6);
        Arbitrary<Integer> proto = Arbitraries.of(6, 17);
        Arbitrary<Boolean> bools = Arbitraries.of(true, false);
        Arbitrary<Integer> ints = Arbitraries.integers();
        Arbitrary<byte[]> options = Arbitraries.of(new byte[0], timestamps(1, 2), new byte[] {1, 1, 1, 1});
        return Combinators.combine(framing, version, proto, bools, bools, ints, payloads, options)
                .as((f, v, p, vlan, ext, seq, payload, opts) -> {
                    TestPackets.Spec s = new TestPackets.Spec();
                    s.framing = f;
                    s.ipVersion = v;
                    s.proto = p;
                    s.vlan = vlan && f == Framing.ETHERNET;
                    s.ext6 = ext && v == 6;
                    s.seq = seq;
                    s.payload = payload;
                    s.tcpOptions = opts;
                    s.ipId = seq & 0xffff;
                    return s;
                });
    }

    static byte[] timestamps(int tsval, int tsecr) {
        return new byte[] {
                1, 1, 8, 10, (byte) (tsval >>> 24), (byte) (tsval >>> 16), (byte) (tsval >>> 8), (byte) tsval,
                (byte) (tsecr >>> 24), (byte) (tsecr >>> 16), (byte) (tsecr >>> 8), (byte) tsecr};
    }
}
