package ringlink.sw;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/**
 * JFR: packets the switch dropped, one event per batch and reason (not per packet, so that a
 * drop storm does not become an event storm).
 */
@Name("ringlink.Drop")
@Label("Packets Dropped")
@Category({"Ringlink", "Switch"})
@Description("Packets the switch dropped, per batch and reason")
public final class DropEvent extends jdk.jfr.Event {
    /** The name of the port the packets were dropped on. */
    @Label("Port") public String port;
    /** Why they were dropped: a {@code DropReason} constant's name. */
    @Label("Reason") public String reason;
    /** How many packets of this batch were dropped for this reason. */
    @Label("Packets") public long packets;
}
