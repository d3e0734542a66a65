package ringlink.sw;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** JFR: a switch port started forwarding. */
@Name("ringlink.PortUp")
@Label("Port Up")
@Category({"Ringlink", "Switch"})
@Description("A switch port started forwarding")
public final class PortUpEvent extends jdk.jfr.Event {
    /** The port's name. */
    @Label("Port") public String port;
    /** The offloads negotiated on the port's link ({@link ringlink.link.Offloads#toString()}). */
    @Label("Offloads") public String offloads;
    /** The port link's MTU in bytes. */
    @Label("MTU") public int mtu;
}
