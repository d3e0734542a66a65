package ringlink.vhost;

/** Packet-rate comparison inside the guest (see {@link VhostNetGuestMain}). */
final class VhostNetGuestBench {
    private VhostNetGuestBench() {}

    static void main(String[] args) throws Exception {
        throw new UnsupportedOperationException("bench not written yet");
    }
}
