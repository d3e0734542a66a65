/**
 * Virtio split and packed virtqueues, driver and device side, over
 * {@link ringlink.virtio.GuestMemory} (guest-physical addresses to bounds-checked segments), and
 * feature negotiation ({@link ringlink.virtio.FeatureSet}). The vhost and vhost-user links build on
 * these rings; everything a peer writes into them is checked before use.
 */
package ringlink.virtio;
