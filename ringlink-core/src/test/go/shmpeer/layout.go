package main

// Layout mode prints bytes produced by gVisor's own encoders and pipe code so that the Java
// layouts (PipeLayout, TxPacketLayout, RxPacketLayout) can be compared with them byte for byte.

import (
	"encoding/hex"
	"fmt"

	"gvisor.dev/gvisor/pkg/atomicbitops"
	"gvisor.dev/gvisor/pkg/tcpip/link/sharedmem/pipe"
	"gvisor.dev/gvisor/pkg/tcpip/link/sharedmem/queue"
)

func printLayouts() {
	// A consumed-buffer completion with one buffer.
	c := make([]byte, queue.RxCompletionSize(1))
	queue.EncodeRxCompletion(c, 0x11223344, 0x55667788)
	queue.EncodeRxCompletionBuffer(c, 0, queue.RxBuffer{Offset: 0x0102030405060708, Size: 0x0a0b0c0d, ID: 0x1112131415161718, UserData: 0x2122232425262728})
	fmt.Println("rxcompletion", hex.EncodeToString(c))

	tc := make([]byte, 8)
	queue.EncodeTxCompletion(tc, 0x0102030405060708)
	fmt.Println("txcompletion", hex.EncodeToString(tc))

	var state atomicbitops.Uint32
	// Two TX packets (one with two buffers) through queue.Tx into a 128-byte pipe, then a third
	// that has to wrap.
	txPipe, rxPipe := make([]byte, 128), make([]byte, 128)
	var t queue.Tx
	t.Init(txPipe, rxPipe, &state)
	b2 := &queue.TxBuffer{Offset: 0x2000, Size: 0x800}
	b1 := &queue.TxBuffer{Offset: 0x1000, Size: 0x800, Next: b2}
	t.Enqueue(7, 3000, 2, b1)
	fmt.Println("txpipe1", hex.EncodeToString(txPipe))
	t.Enqueue(8, 100, 1, &queue.TxBuffer{Offset: 0x3000, Size: 0x800})
	fmt.Println("txpipe2", hex.EncodeToString(txPipe))

	// Posted buffers through queue.Rx.
	post, done := make([]byte, 128), make([]byte, 128)
	var r queue.Rx
	r.Init(post, done, &state)
	r.PostBuffers([]queue.RxBuffer{{Offset: 0x4000, Size: 0x800, ID: 5, UserData: 9}, {Offset: 0x4800, Size: 0x800, ID: 6, UserData: 10}})
	fmt.Println("posted", hex.EncodeToString(post))

	// A pipe consumer's free header after pulling both TX packets, and the producer wrapping.
	var rx pipe.Rx
	rx.Init(txPipe)
	rx.Pull()
	rx.Pull()
	rx.Flush()
	fmt.Println("txpipe3", hex.EncodeToString(txPipe))
	var p pipe.Tx
	ring := make([]byte, 128)
	p.Init(ring)
	for i := 0; i < 3; i++ {
		b := p.Push(40)
		for j := range b {
			b[j] = byte(i + 1)
		}
		p.Flush()
	}
	fmt.Println("wrap1", hex.EncodeToString(ring))
}
