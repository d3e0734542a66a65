package ringlink.cli.demo;

import static ringlink.cli.demo.DemoTools.*;

import java.nio.file.Path;
import java.util.Locale;
import ringlink.link.Link;
import ringlink.link.LinkDevice;
import ringlink.link.Links;
import ringlink.sw.Switch;

/** A QEMU guest on a vhost-user port, a namespace on a TAP port, switched by Ringlink. */
public final class VmStep implements DemoStep {
    /** Queue pairs of the vm step's guest: its driver turns them all on, each vCPU sends on its own. */
    static final int VM_QUEUES = 2;

    @Override public String name() { return "vm"; }
    @Override public String title() {
            return "vhost-user: namespace <-> tap <-> Ringlink switch <-> vhost-user <-> QEMU guest (virtio-net)"; }
    @Override public String proves() {
            return "a virtio-net guest's driver talks to Ringlink's vhost-user back-end through the switch"; }

    @Override
    public String unavailable(DemoContext c) {
        String why = needNamespaces(c);
        if (why == null) why = needScheme("tap");
        if (why == null) why = needScheme("vhost-user");
        return why != null ? why : GuestVm.unavailable();
    }

    @Override
    public Outcome run(DemoContext c) throws Exception {
        namespaces(c, name());
        String a = ns(c, name(), 'a');
        Path dir = tempDir(c, "vm");
        Path sock = dir.resolve("vm.sock");
        String ta = c.prefix() + "wa";
        Link lt = Links.open("tap:" + ta);
        c.cleanup().add("close " + lt.name(), lt::close);
        // Our back-end listens, QEMU connects; two queue pairs, one switch port with both.
        LinkDevice lv = Links.openDevice("vhost-user:" + sock + "?mode=server&queues=" + VM_QUEUES);
        c.cleanup().add("close " + lv.name(), lv::close);
        Switch sw = Switch.builder().port(lt).port(lv).log(m -> c.say("switch: " + m)).build();
        c.cleanup().add("stop the switch", sw::close);
        sw.start();
        c.say("switch started: " + lt.name() + " [offloads " + lt.offloads() + "] <-> " + lv.name() + " ["
                + VM_QUEUES + " queue pairs, offloads " + lv.queue(0).offloads() + "]");
        c.say("starting QEMU (TCG) with a " + VM_QUEUES
                + "-queue-pair virtio-net device (mq=on, one vCPU per pair) on vhost-user socket " + sock);
        GuestVm vm = GuestVm.start(dir, sock, "52:54:00:77:05:02", "10.77.5.2/24", "10.77.5.1", VM_QUEUES);
        c.cleanup().add("stop QEMU", vm::close);
        place(ta, a, "10.77.5.1/24");
        c.say("waiting for the guest to boot (TCG: up to a few minutes on a busy machine) ...");
        long t0 = System.nanoTime();
        vm.awaitReady(300);
        c.say(String.format(Locale.ROOT, "guest up after %.0f s; its eth0 is 10.77.5.2",
                (System.nanoTime() - t0) / 1e9));
        String rtt = ping(c, a, "10.77.5.2");
        c.say("switch: " + switchSummary(sw));
        c.say("guest port per queue pair (the guest pings once from each vCPU; replies follow the flow hash): "
                + queueSummary(sw.stats().ports().get(1)));
        return new Outcome("ok", rtt, "-", "");
    }
}
