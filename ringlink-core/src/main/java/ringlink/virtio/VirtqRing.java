package ringlink.virtio;

import java.lang.foreign.MemorySegment;

/**
 * Where a virtqueue lives (virtio 1.2 §2.6): its Descriptor Area, Driver Area and Device Area,
 * each a bounded, aligned segment of {@link GuestMemory}, plus their guest addresses.
 * {@link SplitRing} and {@link PackedRing} say what the areas hold; both sides build their queue
 * on one.
 */
public abstract sealed class VirtqRing permits SplitRing, PackedRing {
    private final int size;
    private final long descAddr, driverAreaAddr, deviceAreaAddr;
    final MemorySegment desc, driverArea, deviceArea;

    /**
     * Maps the three areas: the descriptors ({@code 16 * size} bytes, 16-aligned in both ring
     * formats) and the two areas the subclass describes; a misaligned or unmapped part is
     * {@code BAD_RING_SETUP}, named by {@code what}.
     */
    VirtqRing(GuestMemory mem, int size, String descWhat, long descGpa,
              String driverWhat, long driverGpa, long driverBytes, int driverAlign,
              String deviceWhat, long deviceGpa, long deviceBytes, int deviceAlign) {
        this.size = size;
        this.descAddr = descGpa;
        this.driverAreaAddr = driverGpa;
        this.deviceAreaAddr = deviceGpa;
        this.desc = VirtqLayout.mapRingPart(mem, descWhat, descGpa, 16L * size, 16);
        this.driverArea = VirtqLayout.mapRingPart(mem, driverWhat, driverGpa, driverBytes, driverAlign);
        this.deviceArea = VirtqLayout.mapRingPart(mem, deviceWhat, deviceGpa, deviceBytes, deviceAlign);
    }

    /** The queue size (descriptors in the ring). */
    public final int size() { return size; }
    /** Guest address of the Descriptor Area (vhost's {@code desc_user_addr} before translation). */
    public final long descAddress() { return descAddr; }
    /** Guest address of the Driver Area (written by the driver; vhost's {@code avail_user_addr}). */
    public final long driverAreaAddress() { return driverAreaAddr; }
    /** Guest address of the Device Area (written by the device; vhost's {@code used_user_addr}). */
    public final long deviceAreaAddress() { return deviceAreaAddr; }
}
