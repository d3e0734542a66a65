package ringlink.sw;

import ringlink.sys.Fd;

/**
 * One receive queue a {@link Poller} polls: queue {@code queue} of {@code port}. A multi-queue
 * port's queues are spread over the pollers like ports are.
 */
final class RxQueue {
    final Port port;
    final int queue;
    final ringlink.link.Link link;
    /**
     * Our dup of the queue link's readyFd, the number registered in the poller's epoll set (null
     * when not registered): a link may close its readyFd before the port goes down here (a peer
     * hung up), and when a peer still holds that file (a vhost-user call eventfd, a shm queue
     * eventfd) the entry of a closed number stays armed and can no longer be removed. The dup
     * is removed from the set, then closed. Guarded by this object.
     */
    Fd registered;

    RxQueue(Port port, int queue) {
        this.port = port;
        this.queue = queue;
        this.link = port.queues[queue];
    }
}
