// shmpeer is Ringlink's test and benchmark peer for the sharedmem transport. It moves packets
// with gVisor's own sharedmem queue code (gvisor.dev/gvisor/pkg/tcpip/link/sharedmem/{pipe,queue}
// from Debian's golang-gvisor-gvisor-dev), so the Java side is checked against the real thing.
//
// It speaks Ringlink's queue hand-over (docs/parts/shm.md): the server listens, creates both
// queues in memfds and sends their ten descriptors with SCM_RIGHTS; the client connects and
// receives them. The server plays gVisor's server side (reads the TX queue, fills posted RX
// buffers), the client gVisor's client side (queue.Tx, queue.Rx).
//
// Exchange mode sends -count packets with a deterministic pseudo-random size and content and
// checks every byte of -expect packets coming the other way, both at once. Bench mode sends or
// receives fixed-size packets as fast as it can and prints the rate.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/atomicbitops"
	"gvisor.dev/gvisor/pkg/tcpip/link/sharedmem/pipe"
	"gvisor.dev/gvisor/pkg/tcpip/link/sharedmem/queue"
)

var (
	role     = flag.String("role", "server", "sharedmem role: server or client")
	listenAs = flag.String("listen", "auto", "listen and create the queues (true), connect and attach (false), or auto: the server listens")
	sock     = flag.String("sock", "", "unix socket path")
	count    = flag.Int("count", 1000, "packets to send (exchange mode)")
	expect   = flag.Int("expect", 1000, "packets to receive and check (exchange mode)")
	txSeed   = flag.Uint64("txseed", 1, "seed of the packets we send")
	rxSeed   = flag.Uint64("rxseed", 2, "seed of the packets we expect")
	maxLen   = flag.Int("maxlen", 9014, "largest packet")
	bufSize  = flag.Int("bufsize", 2048, "client buffer size")
	bench    = flag.String("bench", "", "send or recv: benchmark mode")
	size     = flag.Int("size", 64, "bench packet size")
	seconds  = flag.Float64("seconds", 2, "bench measuring time")
	warmup   = flag.Float64("warmup", 2, "bench: seconds after the first packet before measuring")
	dataSize = flag.Int("data", 1<<20, "data region size (server)")
	pipeSize = flag.Int("pipe", 64<<10, "pipe size (server)")
	endpoint = flag.Bool("endpoint", false, "use gVisor's whole sharedmem endpoint (bare IPv4 packets)")
	vnetHdr  = flag.Bool("vnethdr", false, "endpoint mode: VirtioNetHeaderRequired")
	layout   = flag.Bool("layout", false, "print bytes written by gVisor's encoders and pipes, then exit")
	padded   = flag.Bool("padded", false, "endpoint mode: accept received packets longer than sent (gVisor server endpoint padding)")
)

const refLen = 4096 + 65536

var ref = func() []byte {
	r := make([]byte, refLen)
	for i := range r {
		r[i] = byte(mix(0x5EED0000+uint64(i/8)) >> (8 * uint(i%8)))
	}
	return r
}()

func mix(z uint64) uint64 {
	z += 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// packet returns packet k of the stream with the given seed (a slice of ref).
func packet(seed uint64, k uint64, maxLen int) []byte {
	h := mix(seed*0x100000001B3 + k)
	sel := h % 100
	r := h >> 8
	var n uint64
	switch {
	case sel < 10:
		n = 1 + r%64
	case sel < 80 || maxLen <= 1514:
		n = 60 + r%1455
	default:
		n = 1515 + r%uint64(maxLen-1514)
	}
	if n > uint64(maxLen) {
		n = uint64(maxLen)
	}
	off := (h >> 40) % 4096
	return ref[off : off+n]
}

func die(f string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "shmpeer: "+f+"\n", a...)
	os.Exit(1)
}

// ---- queue memory ----

type qcfg struct {
	data, event, txPipe, rxPipe, shared int
}

type qmem struct {
	cfg                          qcfg
	data, txPipe, rxPipe, shared []byte
	state                        *atomicbitops.Uint32
}

func memfd(name string, size int, initPipe bool) int {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		die("memfd_create: %v", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		die("ftruncate: %v", err)
	}
	if initPipe {
		// gVisor's createFile does the same: the pipe starts with a free slot header.
		if _, err := unix.Pwrite(fd, []byte{0, 0, 0, 0, 0, 0, 0, 0x80}, 0); err != nil {
			die("pwrite: %v", err)
		}
	}
	return fd
}

func createQueue() qcfg {
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		die("eventfd: %v", err)
	}
	return qcfg{memfd("shmpeer-data", *dataSize, false), efd, memfd("shmpeer-tx", *pipeSize, true),
		memfd("shmpeer-rx", *pipeSize, true), memfd("shmpeer-shared", 4096, false)}
}

func mapFd(fd int) []byte {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		die("fstat: %v", err)
	}
	b, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		die("mmap: %v", err)
	}
	return b
}

func mapQueue(c qcfg) *qmem {
	m := &qmem{cfg: c, data: mapFd(c.data), txPipe: mapFd(c.txPipe), rxPipe: mapFd(c.rxPipe), shared: mapFd(c.shared)}
	m.state = (*atomicbitops.Uint32)(unsafePointer(m.shared))
	return m
}

func notify(m *qmem) {
	if m.state.Load() != queue.EventFDDisabled {
		var one = []byte{1, 0, 0, 0, 0, 0, 0, 0}
		unix.Write(m.cfg.event, one)
	}
}

// sleepOn waits (bounded) for the queue's eventfd after announcing it through the shared word;
// ready re-checks for work that raced in.
func sleepOn(m *qmem, ready func() bool) {
	m.state.Store(queue.EventFDEnabled)
	if !ready() {
		fds := []unix.PollFd{{Fd: int32(m.cfg.event), Events: unix.POLLIN}}
		unix.Poll(fds, 5)
		var b [8]byte
		unix.Read(m.cfg.event, b[:])
	}
	m.state.Store(queue.EventFDDisabled)
}

// ---- hand-over ----

func offer(conn *net.UnixConn, tx, rx qcfg) {
	msg := make([]byte, 16)
	le32(msg[0:], 0x48534c52)
	le32(msg[4:], 1)
	le32(msg[8:], 1500)
	fds := []int{tx.data, tx.event, tx.txPipe, tx.rxPipe, tx.shared, rx.data, rx.event, rx.txPipe, rx.rxPipe, rx.shared}
	if _, _, err := conn.WriteMsgUnix(msg, unix.UnixRights(fds...), nil); err != nil {
		die("sendmsg: %v", err)
	}
}

func receiveOffer(conn *net.UnixConn) (qcfg, qcfg) {
	msg := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(10*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(msg, oob)
	if err != nil || n != 16 {
		die("recvmsg: %v (%d bytes)", err, n)
	}
	if msg[0] != 'R' || msg[1] != 'L' || msg[2] != 'S' || msg[3] != 'H' {
		die("bad offer magic")
	}
	cms, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(cms) != 1 {
		die("control message: %v", err)
	}
	fds, err := unix.ParseUnixRights(&cms[0])
	if err != nil || len(fds) != 10 {
		die("descriptors: %v (%d)", err, len(fds))
	}
	return qcfg{fds[0], fds[1], fds[2], fds[3], fds[4]}, qcfg{fds[5], fds[6], fds[7], fds[8], fds[9]}
}

func le32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// ---- client side: gVisor's queue.Tx and queue.Rx ----

type clientTx struct {
	m     *qmem
	q     queue.Tx
	bufs  []queue.TxBuffer
	free  []int
	chain []int
}

func newClientTx(m *qmem) *clientTx {
	t := &clientTx{m: m}
	t.q.Init(m.txPipe, m.rxPipe, m.state)
	n := len(m.data) / *bufSize
	t.bufs = make([]queue.TxBuffer, n)
	t.chain = make([]int, n)
	for i := n - 1; i >= 0; i-- {
		t.bufs[i] = queue.TxBuffer{Offset: uint64(i * *bufSize), Size: uint32(*bufSize)}
		t.free = append(t.free, i)
	}
	return t
}

func (t *clientTx) send(p []byte) bool {
	for {
		id, ok := t.q.CompletedPacket()
		if !ok {
			break
		}
		for b := int(id); b >= 0; b = t.chain[b] {
			t.free = append(t.free, b)
		}
	}
	n := (len(p) + *bufSize - 1) / *bufSize
	if len(t.free) < n {
		return false
	}
	idx := t.free[len(t.free)-n:]
	for k := 0; k < n; k++ {
		b := idx[k]
		t.bufs[b].Next = nil
		if k+1 < n {
			t.bufs[b].Next = &t.bufs[idx[k+1]]
			t.chain[b] = idx[k+1]
		} else {
			t.chain[b] = -1
		}
		end := (k + 1) * *bufSize
		if end > len(p) {
			end = len(p)
		}
		copy(t.m.data[t.bufs[b].Offset:], p[k**bufSize:end])
	}
	if !t.q.Enqueue(uint64(idx[0]), uint32(len(p)), uint32(n), &t.bufs[idx[0]]) {
		return false
	}
	t.free = t.free[:len(t.free)-n]
	return true
}

type clientRx struct {
	m      *qmem
	q      queue.Rx
	repost []queue.RxBuffer
	got    []queue.RxBuffer
}

func newClientRx(m *qmem) *clientRx {
	r := &clientRx{m: m}
	r.q.Init(m.txPipe, m.rxPipe, m.state)
	n := uint64(len(m.data) / *bufSize)
	if l := r.q.PostedBuffersLimit(); n > l {
		n = l
	}
	for i := uint64(0); i < n; i++ {
		r.repost = append(r.repost, queue.RxBuffer{Offset: i * uint64(*bufSize), Size: uint32(*bufSize), ID: i})
	}
	return r
}

// recv appends the next packet to out (nil, false if none).
func (r *clientRx) recv(out []byte) ([]byte, bool) {
	if len(r.repost) > 0 && r.q.PostBuffers(r.repost) {
		r.repost = r.repost[:0]
	}
	bufs, total := r.q.Dequeue(r.got[:0])
	if len(bufs) == 0 {
		return out, false
	}
	left := total
	for i := range bufs {
		s := bufs[i].Size
		if s > left {
			s = left
		}
		out = append(out, r.m.data[bufs[i].Offset:][:s]...)
		left -= s
		bufs[i].Size = uint32(*bufSize)
		r.repost = append(r.repost, bufs[i])
	}
	r.got = bufs
	return out, true
}

// ---- server side: gVisor's pipes with its descriptor codecs ----

type serverRx struct {
	m       *qmem
	packets pipe.Rx
	compl   pipe.Tx
}

func newServerRx(m *qmem) *serverRx {
	s := &serverRx{m: m}
	s.packets.Init(m.txPipe)
	s.compl.Init(m.rxPipe)
	return s
}

func (s *serverRx) recv(out []byte) ([]byte, bool) {
	desc := s.packets.Pull()
	if desc == nil {
		return out, false
	}
	c := s.compl.Push(8)
	if c == nil {
		s.packets.Abort()
		return out, false
	}
	info := queue.DecodeTxPacketHeader(desc)
	left := info.Size
	for i := 0; i < info.BufferCount && left > 0; i++ {
		b := queue.DecodeTxBufferHeader(desc, i)
		n := b.Size
		if n > left {
			n = left
		}
		out = append(out, s.m.data[b.Offset:][:n]...)
		left -= n
	}
	s.packets.Flush()
	queue.EncodeTxCompletion(c, info.ID)
	s.compl.Flush()
	return out, true
}

type serverTx struct {
	m     *qmem
	fill  pipe.Rx
	compl pipe.Tx
	bufs  []queue.RxBuffer
}

func newServerTx(m *qmem) *serverTx {
	s := &serverTx{m: m}
	s.fill.Init(m.txPipe)
	s.compl.Init(m.rxPipe)
	return s
}

func (s *serverTx) send(p []byte) bool {
	s.bufs = s.bufs[:0]
	want := len(p)
	for want > 0 {
		b := s.fill.Pull()
		if b == nil {
			s.fill.Abort()
			return false
		}
		rb := queue.DecodeRxBufferHeader(b)
		s.bufs = append(s.bufs, rb)
		want -= int(rb.Size)
	}
	c := s.compl.Push(queue.RxCompletionSize(len(s.bufs)))
	if c == nil {
		s.fill.Abort()
		return false
	}
	queue.EncodeRxCompletion(c, uint32(len(p)), 0)
	done := 0
	for i := range s.bufs {
		n := int(s.bufs[i].Size)
		if n > len(p)-done {
			n = len(p) - done
		}
		copy(s.m.data[s.bufs[i].Offset:][:n], p[done:done+n])
		done += n
		s.bufs[i].Size = uint32(n)
		queue.EncodeRxCompletionBuffer(c, i, s.bufs[i])
	}
	s.compl.Flush()
	s.fill.Flush()
	return true
}

// ---- main ----

type sender interface{ send([]byte) bool }
type receiver interface {
	recv([]byte) ([]byte, bool)
}

func main() {
	flag.Parse()
	if *layout {
		printLayouts()
		return
	}
	var conn *net.UnixConn
	var txq, rxq *qmem
	listen := *listenAs == "true" || *listenAs == "auto" && *role == "server"
	if listen {
		os.Remove(*sock)
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: *sock, Net: "unix"})
		if err != nil {
			die("listen: %v", err)
		}
		conn, err = l.AcceptUnix()
		if err != nil {
			die("accept: %v", err)
		}
		l.Close()
		os.Remove(*sock)
		tc, rc := createQueue(), createQueue()
		offer(conn, tc, rc)
		txq, rxq = mapQueue(tc), mapQueue(rc)
	} else {
		deadline := time.Now().Add(30 * time.Second)
		for {
			c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: *sock, Net: "unix"})
			if err == nil {
				conn = c
				break
			}
			if time.Now().After(deadline) {
				die("connect: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		tc, rc := receiveOffer(conn)
		txq, rxq = mapQueue(tc), mapQueue(rc)
	}
	if *endpoint {
		tc, rc := txq.cfg, rxq.cfg
		if !runEndpoint(tc, rc, *padded) {
			os.Exit(1)
		}
		fmt.Printf("OK role=%s endpoint sent=%d received=%d\n", *role, *count, *expect)
		conn.Write([]byte{'D'})
		b := make([]byte, 1)
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			if n, err := conn.Read(b); err != nil || n == 1 && b[0] == 'D' {
				break
			}
		}
		return
	}
	// Our consumer side polls until it sleeps.
	var snd sender
	var rcv receiver
	var out, in *qmem // the queue we send on, the one we receive from
	if *role == "server" {
		snd, rcv, out, in = newServerTx(rxq), newServerRx(txq), rxq, txq
	} else {
		snd, rcv, out, in = newClientTx(txq), newClientRx(rxq), txq, rxq
	}
	in.state.Store(queue.EventFDDisabled)

	// After the hand-over the connection only says "done" (one byte 'D') or, by hanging up,
	// that the peer is gone.
	var peerGone, peerDone atomic.Bool
	go func() {
		b := make([]byte, 1)
		for {
			n, err := conn.Read(b)
			if n == 1 && b[0] == 'D' {
				peerDone.Store(true)
				continue
			}
			if err != nil {
				peerGone.Store(true)
				return
			}
		}
	}()

	switch *bench {
	case "send":
		p := ref[:*size]
		for !peerGone.Load() {
			sent := 0
			for i := 0; i < 64 && snd.send(p); i++ {
				sent++
			}
			if sent > 0 {
				notify(out)
			} else {
				runtime.Gosched()
			}
		}
		return
	case "recv":
		buf := make([]byte, 0, 65536)
		var pkts, bytes uint64
		var start, first time.Time
		measuring := false
		limit := time.Duration(*seconds * float64(time.Second))
		warm := time.Duration(*warmup * float64(time.Second))
		for {
			b, ok := rcv.recv(buf[:0])
			if !ok {
				if peerGone.Load() {
					die("peer went away during the benchmark")
				}
				sleepOn(in, func() bool { return false })
				continue
			}
			if !measuring {
				now := time.Now()
				if first.IsZero() {
					first = now
				}
				if now.Sub(first) >= warm {
					measuring = true
					start = now
				}
				continue
			}
			pkts++
			bytes += uint64(len(b))
			if pkts&1023 == 0 && time.Since(start) >= limit {
				break
			}
		}
		el := time.Since(start).Seconds()
		fmt.Printf("RESULT impl=go packets=%d bytes=%d seconds=%.3f pps=%.0f gbps=%.3f\n", pkts, bytes, el,
			float64(pkts)/el, float64(bytes)*8/el/1e9)
		return
	}

	var wg sync.WaitGroup
	var failed atomic.Bool
	wg.Add(2)
	go func() { // sender
		defer wg.Done()
		for k := 0; k < *count && !failed.Load(); {
			sent := 0
			for sent < 32 && k < *count && snd.send(packet(*txSeed, uint64(k), *maxLen)) {
				k++
				sent++
			}
			if sent > 0 {
				notify(out)
			} else {
				if peerGone.Load() {
					fmt.Fprintf(os.Stderr, "shmpeer: peer went away after %d sent\n", k)
					failed.Store(true)
					return
				}
				time.Sleep(20 * time.Microsecond)
			}
		}
	}()
	go func() { // receiver, checking every byte
		defer wg.Done()
		buf := make([]byte, 0, 65536)
		idle := 0
		for k := 0; k < *expect && !failed.Load(); {
			b, ok := rcv.recv(buf[:0])
			if !ok {
				idle++
				if peerGone.Load() && idle > 1000 {
					fmt.Fprintf(os.Stderr, "shmpeer: peer went away after %d received\n", k)
					failed.Store(true)
					return
				}
				sleepOn(in, func() bool { return false })
				continue
			}
			idle = 0
			want := packet(*rxSeed, uint64(k), *maxLen)
			if len(b) != len(want) {
				fmt.Fprintf(os.Stderr, "shmpeer: packet %d has %d bytes, want %d\n", k, len(b), len(want))
				failed.Store(true)
				return
			}
			for j := range b {
				if b[j] != want[j] {
					fmt.Fprintf(os.Stderr, "shmpeer: packet %d byte %d is %#x, want %#x\n", k, j, b[j], want[j])
					failed.Store(true)
					return
				}
			}
			k++
		}
	}()
	wg.Wait()
	if failed.Load() {
		os.Exit(1)
	}
	fmt.Printf("OK role=%s sent=%d received=%d\n", *role, *count, *expect)
	// Stay until the peer is done too: exiting is harmless for the data (the peer has its own
	// mappings) but a Ringlink link closes when its peer hangs up.
	conn.Write([]byte{'D'})
	for i := 0; i < 3000 && !peerGone.Load() && !peerDone.Load(); i++ {
		time.Sleep(10 * time.Millisecond)
	}
}
