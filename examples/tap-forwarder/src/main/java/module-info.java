/** The TAP forwarder example: a user's module, reading only what ringlink.core exports. */
module ringlink.example.tapforwarder {
    requires ringlink.core;
}
