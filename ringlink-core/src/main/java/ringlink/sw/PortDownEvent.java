package ringlink.sw;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** JFR: a switch port stopped forwarding (peer closed, protocol error, switch shutdown). */
@Name("ringlink.PortDown")
@Label("Port Down")
@Category({"Ringlink", "Switch"})
@Description("A switch port stopped forwarding")
public final class PortDownEvent extends jdk.jfr.Event {
    /** The port's name. */
    @Label("Port") public String port;
    /** Why the port went down (peer closed, protocol error, switch shutdown). */
    @Label("Reason") public String reason;
}
