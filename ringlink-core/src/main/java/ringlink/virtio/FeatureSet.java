package ringlink.virtio;

import java.util.ArrayList;
import java.util.List;

/**
 * An immutable 64-bit virtio feature word with named bits. Negotiation is {@link #and}: the driver
 * acks the intersection of what the device offers and what it understands.
 *
 * @param bits the raw feature word as the transport carries it
 */
public record FeatureSet(long bits) {
    /** No features. */
    public static final FeatureSet NONE = new FeatureSet(0);

    /** The set of the given features. */
    public static FeatureSet of(VirtioFeature... features) {
        long b = 0;
        for (VirtioFeature f : features) b |= f.mask();
        return new FeatureSet(b);
    }

    /** True if {@code f}'s bit is set. */
    public boolean has(VirtioFeature f) { return (bits & f.mask()) != 0; }

    /** True if bit number {@code bit} (0 to 63) is set. */
    public boolean hasBit(int bit) { return (bits & (1L << bit)) != 0; }

    /** This set plus {@code features}. */
    public FeatureSet with(VirtioFeature... features) { return new FeatureSet(bits | of(features).bits); }

    /** This set minus {@code features}. */
    public FeatureSet without(VirtioFeature... features) { return new FeatureSet(bits & ~of(features).bits); }

    /** Intersection (negotiation). */
    public FeatureSet and(FeatureSet other) { return new FeatureSet(bits & other.bits); }

    /** Union: the bits of this set and of {@code other}. */
    public FeatureSet or(FeatureSet other) { return new FeatureSet(bits | other.bits); }

    /** True if every bit of {@code other} is in this set. */
    public boolean containsAll(FeatureSet other) { return (bits & other.bits) == other.bits; }

    /** The named features in this set, by bit number. */
    public List<VirtioFeature> features() {
        List<VirtioFeature> out = new ArrayList<>();
        for (int b = 0; b < 64; b++) {
            VirtioFeature f = VirtioFeature.ofBit(b);
            if (f != null && hasBit(b)) out.add(f);
        }
        return out;
    }

    /** E.g. {@code [VIRTIO_NET_F_CSUM, VIRTIO_F_VERSION_1, bit45]}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("[");
        for (int b = 0; b < 64; b++) {
            if (!hasBit(b)) continue;
            if (sb.length() > 1) sb.append(", ");
            VirtioFeature f = VirtioFeature.ofBit(b);
            sb.append(f != null ? f.specName() : "bit" + b);
        }
        return sb.append(']').toString();
    }
}
