package ringlink.testing.qemu;

/** Runs inside the guest for {@link QemuGuestTest}: proves test classes load over 9p. */
public final class GuestHello {
    private GuestHello() {}

    public static void main(String[] args) {
        System.out.println("GUEST-HELLO " + String.join(" ", args));
    }
}
