package ringlink.bench.packet;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * A/B of {@code GsoBench}'s segmentations on a loaded machine: the two implementations run
 * interleaved in one thread (A, B, B, A, ... in rounds of a fixed number of superpackets), each
 * timed by the thread's CPU time rather than the wall clock, so time the scheduler gives other
 * processes is not counted and load drifts hit both sides of a round alike. Prints per
 * implementation the median segments per CPU-second and the per-round ratio new/old (median and
 * min–max). Run: {@code java -cp ... ringlink.bench.packet.GsoAb [rounds] [superpacketsPerRound]}.
 */
public final class GsoAb {
    private GsoAb() {}

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        int per = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (int ip : new int[] {4, 6}) {
            GsoBench b = new GsoBench();
            b.ip = ip;
            b.setup();
            GsoBench.Counts c = new GsoBench.Counts();
            int segs = (int) b.segmentsPerSuperpacket();
            // warm-up: both paths compiled before anything is timed
            for (int k = 0; k < 20_000; k++) {
                b.tso64k(c);
                b.tso64kBaseline(c);
                b.fallback64k(c);
            }
            double[] neu = new double[rounds], old = new double[rounds], fb = new double[rounds],
                    ratio = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                boolean oldFirst = (r & 1) == 1;
                long tOld = 0, tNew = 0, tFb;
                if (oldFirst) tOld = time(mx, () -> { for (int k = 0; k < per; k++) b.tso64kBaseline(c); });
                tNew = time(mx, () -> { for (int k = 0; k < per; k++) b.tso64k(c); });
                if (!oldFirst) tOld = time(mx, () -> { for (int k = 0; k < per; k++) b.tso64kBaseline(c); });
                tFb = time(mx, () -> { for (int k = 0; k < per; k++) b.fallback64k(c); });
                neu[r] = (double) per * segs / tNew * 1e9;
                old[r] = (double) per * segs / tOld * 1e9;
                fb[r] = (double) per * segs / tFb * 1e9;
                ratio[r] = neu[r] / old[r];
            }
            b.tearDown();
            System.out.printf("IPv%d, %d segments per superpacket, %d rounds x %d superpackets, thread CPU time:%n", ip,
                    segs, rounds, per);
            System.out.printf("  tso64k (new)        %6.2f M segments/s (min %.2f, max %.2f)%n", med(neu) / 1e6,
                    min(neu) / 1e6, max(neu) / 1e6);
            System.out.printf("  tso64kBaseline (old) %5.2f M segments/s (min %.2f, max %.2f)%n", med(old) / 1e6,
                    min(old) / 1e6, max(old) / 1e6);
            System.out.printf("  fallback64k (new, 32-slot rounds) %.2f M segments/s (min %.2f, max %.2f)%n",
                    med(fb) / 1e6, min(fb) / 1e6, max(fb) / 1e6);
            System.out.printf("  new/old per round: median %.3f (min %.3f, max %.3f)%n", med(ratio), min(ratio),
                    max(ratio));
        }
    }

    private static long time(ThreadMXBean mx, Runnable r) {
        long t0 = mx.getCurrentThreadCpuTime();
        r.run();
        return mx.getCurrentThreadCpuTime() - t0;
    }

    private static double med(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double min(double[] a) { return Arrays.stream(a).min().orElse(0); }

    private static double max(double[] a) { return Arrays.stream(a).max().orElse(0); }
}
