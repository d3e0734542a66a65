package ringlink.virtio;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Notification suppression, single-threaded and deterministic: flags and EVENT_IDX, both ring
 * formats, both directions.
 */
class NotificationTest {
    static RingPair pair(String kind, boolean eventIdx) {
        FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1);
        if (eventIdx) f = f.with(VirtioFeature.EVENT_IDX);
        return new RingPair(RingPair.Kind.valueOf(kind), 64, f);
    }

    @ParameterizedTest
    @CsvSource({"SPLIT,false", "SPLIT,true", "PACKED,false", "PACKED,true"})
    void kicksFollowTheDevicesRequest(String kind, boolean eventIdx) {
        try (RingPair p = pair(kind, eventIdx)) {
            long buf = p.alloc.allocate(4096, 64);
            DescriptorChain c = new DescriptorChain();
            // Fresh queue: notifications are enabled, the first publish kicks.
            assertFalse(p.device.enableNotifications(), "empty queue: safe to sleep");
            p.driver.offer(buf, 64, false);
            assertTrue(p.driver.publish(), "device asleep: kick");
            if (eventIdx) {
                // Device has not run yet: its event index is already passed, no second kick.
                p.driver.offer(buf, 64, false);
                assertFalse(p.driver.publish(), "EVENT_IDX: one kick until the device catches up");
            }
            // The device wakes: disables, drains, re-enables with recheck.
            p.device.disableNotifications();
            p.driver.offer(buf, 64, false);
            assertFalse(p.driver.publish(), "device polling: no kick");
            while (p.device.pop(c)) p.device.push(c, 0);
            p.device.publish();
            assertFalse(p.device.enableNotifications(), "drained: safe to sleep");
            p.driver.collect(new int[64], new int[64], 64);
            p.driver.offer(buf, 64, false);
            assertTrue(p.driver.publish(), "device asleep again: kick");
            // Race: the driver publishes between the device's last pop and its re-enable.
            p.device.disableNotifications();
            while (p.device.pop(c)) p.device.push(c, 0);
            p.device.publish();
            p.driver.offer(buf, 64, false);
            assertFalse(p.driver.publish());
            assertTrue(p.device.enableNotifications(), "recheck sees the buffer published meanwhile");
        }
    }

    @ParameterizedTest
    @CsvSource({"SPLIT,false", "SPLIT,true", "PACKED,false", "PACKED,true"})
    void interruptsFollowTheDriversRequest(String kind, boolean eventIdx) {
        try (RingPair p = pair(kind, eventIdx)) {
            long buf = p.alloc.allocate(4096, 64);
            DescriptorChain c = new DescriptorChain();
            for (int i = 0; i < 4; i++) p.driver.offer(buf, 64, true);
            p.driver.publish();
            assertFalse(p.driver.enableNotifications());
            assertTrue(p.device.pop(c));
            p.device.push(c, 1);
            assertTrue(p.device.publish(), "driver waiting: interrupt");
            assertTrue(p.device.pop(c));
            p.device.push(c, 1);
            assertEquals(!eventIdx, p.device.publish(), "EVENT_IDX: no second interrupt before the driver collects");
            p.driver.disableNotifications();
            assertTrue(p.device.pop(c));
            p.device.push(c, 1);
            assertFalse(p.device.publish(), "driver polling: no interrupt");
            assertEquals(3, p.driver.collect(new int[8], new int[8], 8));
            assertTrue(p.device.pop(c));
            p.device.push(c, 1);
            p.device.publish();
            assertTrue(p.driver.enableNotifications(), "recheck sees the used buffer that raced");
        }
    }

    @ParameterizedTest
    @CsvSource({"SPLIT", "PACKED"})
    void busyQueueNeedsAlmostNoNotifications(String kind) {
        for (boolean disableWhileBusy : new boolean[] {true, false}) {
            try (RingPair p = pair(kind, true)) {
                long buf = p.alloc.allocate(4096, 64);
                DescriptorChain[] chains = new DescriptorChain[16];
                for (int i = 0; i < chains.length; i++) chains[i] = new DescriptorChain();
                int[] ids = new int[64], lens = new int[64];
                int kicks = 0, irqs = 0, rounds = 10_000;
                p.device.enableNotifications();
                p.driver.enableNotifications();
                for (int round = 0; round < rounds; round++) {
                    for (int i = 0; i < 16; i++) p.driver.offer(buf, 64, true);
                    if (p.driver.publish()) kicks++;
                    if (disableWhileBusy) p.device.disableNotifications(); // what a woken device does
                    int n = p.device.pop(chains, 16);
                    for (int i = 0; i < n; i++) p.device.push(chains[i], 8);
                    if (p.device.publish()) irqs++;
                    if (disableWhileBusy) p.driver.disableNotifications();
                    p.driver.collect(ids, lens, 64);
                }
                long chainsTotal = 16L * rounds;
                if (disableWhileBusy) {
                    // The protocol as intended: neither side ever went idle, so one kick and one
                    // interrupt at most for 160 000 chains.
                    assertTrue(kicks <= 1, "kicks: " + kicks);
                    assertTrue(irqs <= 1, "interrupts: " + irqs);
                } else {
                    // Enabled once and never re-armed: the stale event index is passed again only
                    // when the index comes round: every 65536 chains (split, 16-bit index) or every
                    // two laps of the ring (packed: offset + wrap bit).
                    long period = kind.equals("SPLIT") ? 65536 : 2L * p.driver.size();
                    assertTrue(kicks <= 1 + chainsTotal / period, "kicks: " + kicks);
                    assertTrue(irqs <= 1 + chainsTotal / period, "interrupts: " + irqs);
                }
            }
        }
    }
}
