package main

// Endpoint mode: the Go side is gVisor's whole sharedmem link endpoint (sharedmem.New in the
// client role, sharedmem.NewServerEndpoint in the server role) rather than just its queues.
// Without a link address the endpoint carries bare IP packets and drops anything whose version
// nibble is not 4 or 6, so every test packet starts with 0x45.

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/bufferv2"
	"gvisor.dev/gvisor/pkg/eventfd"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/sharedmem"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

type checker struct {
	got     chan []byte
	packets atomic.Int64
}

func (c *checker) DeliverNetworkPacket(_ tcpip.NetworkProtocolNumber, pkt stack.PacketBufferPtr) {
	// Data() is what follows the headers the endpoint consumed (the virtio-net header, if any).
	c.got <- pkt.Data().AsRange().ToSlice()
}

func (c *checker) DeliverLinkPacket(tcpip.NetworkProtocolNumber, stack.PacketBufferPtr, bool) {}

func toConfig(q qcfg) sharedmem.QueueConfig {
	return sharedmem.QueueConfig{DataFD: q.data, EventFD: eventfd.Wrap(q.event), TxPipeFD: q.txPipe, RxPipeFD: q.rxPipe, SharedDataFD: q.shared}
}

func ipPacket(seed uint64, k uint64) []byte {
	p := append([]byte(nil), packet(seed, k, *maxLen)...)
	p[0] = 0x45
	return p
}

// runEndpoint exchanges -count/-expect packets through gVisor's endpoint. The check of what we
// receive allows the server endpoint's known padding (see -padded).
func runEndpoint(tc, rc qcfg, padded bool) bool {
	opts := sharedmem.Options{MTU: uint32(*maxLen), BufferSize: uint32(*bufSize), TX: toConfig(tc), RX: toConfig(rc), PeerFD: -1,
		VirtioNetHeaderRequired: *vnetHdr}
	var ep stack.LinkEndpoint
	var err error
	if *role == "server" {
		ep, err = sharedmem.NewServerEndpoint(opts)
	} else {
		ep, err = sharedmem.New(opts)
	}
	if err != nil {
		die("endpoint: %v", err)
	}
	c := &checker{got: make(chan []byte, 1024)}
	ep.Attach(c)
	ok := true
	done := make(chan bool)
	go func() {
		for k := 0; k < *expect; k++ {
			var b []byte
			select {
			case b = <-c.got:
			case <-time.After(60 * time.Second):
				fmt.Fprintf(os.Stderr, "shmpeer: endpoint received only %d packets\n", k)
				done <- false
				return
			}
			want := ipPacket(*rxSeed, uint64(k))
			if !padded && len(b) != len(want) || padded && len(b) < len(want) {
				fmt.Fprintf(os.Stderr, "shmpeer: packet %d has %d bytes, want %d\n", k, len(b), len(want))
				done <- false
				return
			}
			for j := range want {
				if b[j] != want[j] {
					fmt.Fprintf(os.Stderr, "shmpeer: packet %d byte %d is %#x, want %#x\n", k, j, b[j], want[j])
					done <- false
					return
				}
			}
		}
		done <- true
	}()
	deadline := time.Now().Add(120 * time.Second)
	for k := 0; k < *count; {
		var l stack.PacketBufferList
		for i := 0; i < 32 && k+i < *count; i++ {
			l.PushBack(stack.NewPacketBuffer(stack.PacketBufferOptions{ReserveHeaderBytes: 16,
				Payload: bufferv2.MakeWithData(ipPacket(*txSeed, uint64(k+i)))}))
		}
		n, _ := ep.WritePackets(l)
		l.Reset()
		k += n
		if n == 0 {
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "shmpeer: endpoint sent only %d packets\n", k)
				ok = false
				break
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	if !<-done {
		ok = false
	}
	return ok
}
