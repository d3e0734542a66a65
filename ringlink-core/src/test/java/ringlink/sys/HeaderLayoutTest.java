package ringlink.sys;

import org.junit.jupiter.api.Test;
import ringlink.testing.CProbe;

/** The hand-written layouts and constants of ringlink.sys, checked against the C headers. */
class HeaderLayoutTest {
    @Test
    void layoutsMatchTheCHeaders() {
        CProbe.expect()
                .that("sizeof(struct iovec)", IovecLayout.SIZE)
                .that("offsetof(struct iovec, iov_len)", IovecLayout.OFF_IOV_LEN)
                .that("sizeof(struct msghdr)", MsghdrLayout.SIZE)
                .that("offsetof(struct msghdr, msg_namelen)", MsghdrLayout.OFF_MSG_NAMELEN)
                .that("offsetof(struct msghdr, msg_iov)", MsghdrLayout.OFF_MSG_IOV)
                .that("offsetof(struct msghdr, msg_iovlen)", MsghdrLayout.OFF_MSG_IOVLEN)
                .that("offsetof(struct msghdr, msg_control)", MsghdrLayout.OFF_MSG_CONTROL)
                .that("offsetof(struct msghdr, msg_controllen)", MsghdrLayout.OFF_MSG_CONTROLLEN)
                .that("offsetof(struct msghdr, msg_flags)", MsghdrLayout.OFF_MSG_FLAGS)
                .that("sizeof(struct cmsghdr)", MsghdrLayout.CMSGHDR_SIZE)
                .that("CMSG_SPACE(12)", MsghdrLayout.cmsgSpace(12))
                .that("CMSG_LEN(12)", MsghdrLayout.cmsgLen(12))
                .that("sizeof(struct sockaddr_un)", SockaddrUnLayout.SIZE)
                .that("offsetof(struct sockaddr_un, sun_path)", SockaddrUnLayout.OFF_SUN_PATH)
                .that("sizeof(struct epoll_event)", EpollEventLayout.SIZE)
                .that("offsetof(struct epoll_event, data)", EpollEventLayout.OFF_DATA)
                .that("sizeof(struct pollfd)", PollfdLayout.SIZE)
                .that("offsetof(struct pollfd, revents)", PollfdLayout.OFF_REVENTS)
                .that("O_NONBLOCK", Fd.O_NONBLOCK)
                .that("O_CLOEXEC", Fd.O_CLOEXEC)
                .that("O_CREAT", Fd.O_CREAT)
                .that("EFD_NONBLOCK", EventFd.EFD_NONBLOCK)
                .that("MAP_ANONYMOUS", Mapping.MAP_ANONYMOUS)
                .that("MAP_POPULATE", Mapping.MAP_POPULATE)
                .that("MSG_NOSIGNAL", MsghdrLayout.MSG_NOSIGNAL)
                .that("MSG_CMSG_CLOEXEC", MsghdrLayout.MSG_CMSG_CLOEXEC)
                .that("MSG_CTRUNC", MsghdrLayout.MSG_CTRUNC)
                .that("SOCK_SEQPACKET", UnixSocket.SOCK_SEQPACKET)
                .that("RLIMIT_MEMLOCK", Rlimit.RLIMIT_MEMLOCK)
                .that("AF_XDP", Sockets.AF_XDP)
                .that("SOL_XDP", Sockets.SOL_XDP)
                .that("EPOLLET", EpollEventLayout.EPOLLET & 0xffffffffL)
                .that("POLLRDHUP", PollfdLayout.POLLRDHUP)
                .check("""
                #include <sys/uio.h>
                #include <sys/socket.h>
                #include <sys/un.h>
                #include <sys/epoll.h>
                #include <sys/eventfd.h>
                #include <sys/mman.h>
                #include <poll.h>
                #include <fcntl.h>
                #include <sys/resource.h>
                #include <linux/if_xdp.h>
                """);
    }
}
