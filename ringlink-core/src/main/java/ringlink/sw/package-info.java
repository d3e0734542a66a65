/**
 * An Ethernet learning switch between links of any transport: {@link ringlink.sw.Switch} with
 * polling threads, a lock-free MAC table with ageing, 802.1Q access and trunk ports, per-port MAC
 * limits and port security, per-port offload translation, a mirror port, statistics and JFR events.
 */
package ringlink.sw;
