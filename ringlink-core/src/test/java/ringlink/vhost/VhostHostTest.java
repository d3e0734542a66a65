package ringlink.vhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.LinkException;
import ringlink.link.Links;
import ringlink.link.Offloads;
import ringlink.tun.TunConfig;
import ringlink.tun.TunDevice;
import ringlink.testing.Env;

/** What can be checked on the host, which has TUN/TAP but no vhost-net (the data path is tested in the guest). */
class VhostHostTest {
    @Test
    void providerIsRegisteredAndRejectsBadSpecs() {
        assertTrue(Links.providers().containsKey("vhost-net"), Links.providers().keySet().toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Links.open("vhost-net:tap=rlvnh0?offlod=tso"));
        assertTrue(e.getMessage().contains("unknown parameter 'offlod'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Links.open("vhost-net:tap=rlvnh0?mrg-rxbuf=maybe"));
        assertTrue(e.getMessage().contains("auto, on or off"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Links.open("vhost-net:tap=rlvnh0?queue-size=100000"));
        assertTrue(e.getMessage().contains("queue-size"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Links.open("vhost-net:tap="));
        assertTrue(e.getMessage().contains("TAP name"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Links.open("vhost-net:tap=rlvnh0?sndbuf=lots"));
        assertTrue(e.getMessage().contains("max, default or a byte count"), e.getMessage());
    }

    @Test
    @Timeout(30)
    void missingDeviceSaysWhatToDo() {
        VhostNetLink.Options o = VhostNetLink.Options.of("rlvnh0");
        o = new VhostNetLink.Options(o.tap(), "/dev/rlvn-no-such-vhost", o.offloads(), o.queueSize(), o.wanted(),
                o.required(), o.rxBufferSize());
        VhostNetLink.Options opts = o;
        VhostUnavailableException e = assertThrows(VhostUnavailableException.class, () -> VhostNetLink.open(opts));
        assertTrue(e.getMessage().contains("modprobe vhost_net"), e.getMessage());
        assertTrue(e.getMessage().contains("ENOENT"), e.getMessage());
        assertFalse(Files.exists(Path.of("/sys/class/net/rlvnh0")), "a failed open must not leave the TAP behind");
    }

    @Test
    @Timeout(30)
    void tapBackendTakesOffloadsAndRefusesASecondUser() throws Exception {
        Env.requireTun();
        try (TunDevice tap = TunDevice.open(TunConfig.tap("rlvnh1").vnetHdrSize(12).up(false))) {
            assertTrue(Files.exists(Path.of("/sys/class/net/rlvnh1")));
            Offloads got = tap.setOffloads(Offloads.ALL);
            // USO needs Linux 6.2+; either way what we got is what we asked, minus at most USO.
            assertTrue(got.equals(Offloads.ALL) || got.equals(Offloads.ALL.without(Offloads.USO)), got.toString());
            assertEquals(Offloads.NONE, tap.setOffloads(Offloads.NONE));
            LinkException e = assertThrows(LinkException.class,
                    () -> TunDevice.open(TunConfig.tap("rlvnh1").vnetHdrSize(12).up(false)));
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
            assertEquals(1500, tap.mtu());
            // A fresh queue's send buffer is unlimited already (tun sets INT_MAX at open), which is
            // what lets vhost-net batch into the TAP.
            assertEquals(Integer.MAX_VALUE, tap.sndbuf());
        }
        // VhostNetLink sets it explicitly by default (Options.tapSndbuf); a finite one is taken as given.
        assertEquals(Integer.MAX_VALUE, VhostNetLink.Options.of("rlvnh1").tapSndbuf());
        try (TunDevice tap = TunDevice.open(TunConfig.tap("rlvnh1").vnetHdrSize(12).sndbuf(212992).up(false))) {
            assertEquals(212992, tap.sndbuf());
        }
        for (int i = 0; i < 100 && Files.exists(Path.of("/sys/class/net/rlvnh1")); i++) Thread.sleep(10);
        assertFalse(Files.exists(Path.of("/sys/class/net/rlvnh1")), "closing the TAP removes it");
    }
}
