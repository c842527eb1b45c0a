package client_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// deadableConn is a connection whose network path can die without either
// end being told, as when a laptop sleeps or a phone changes networks: from
// then on nothing it writes arrives and nothing is delivered to it.
type deadableConn struct {
	net.Conn
	dead   atomic.Bool
	closed chan struct{}
	once   sync.Once
}

func (c *deadableConn) Read(p []byte) (int, error) {
	if !c.dead.Load() {
		n, err := c.Conn.Read(p)
		if !c.dead.Load() {
			return n, err
		}
	}
	<-c.closed
	return 0, net.ErrClosed
}

func (c *deadableConn) Write(p []byte) (int, error) {
	if c.dead.Load() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *deadableConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// A watch whose connection silently dies (no FIN, no RST: the path is
// gone) must notice and reconnect by itself, not wait for ever on a quiet
// stream while changes are made.
func TestWatchReconnectsAfterConnectionSilentlyDies(t *testing.T) {
	s := newTestServer(t)
	var mu sync.Mutex
	var conns []*deadableConn
	dialer := grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		s.mu.Lock()
		lis := s.lis
		s.mu.Unlock()
		raw, err := lis.DialContext(ctx)
		if err != nil {
			return nil, err
		}
		c := &deadableConn{Conn: raw, closed: make(chan struct{})}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		return c, nil
	})
	client.SetKeepaliveForTest(t, 10*time.Second, 2*time.Second)
	w, err := client.Dial(context.Background(), "passthrough:///bufnet", client.WithInsecure(), client.WithToken(s.token),
		client.WithDialOptions(dialer, fastReconnect), client.WithRetry(4, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	writer := s.client(t)

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	got := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- w.Watch(ctx, client.WatchOptions{Types: created, GiveUpAfter: -1}, func(resp *pb.WatchEventsResponse) error {
			for _, e := range resp.Events {
				got <- e.HelpRequest
			}
			if len(resp.Events) == 0 {
				got <- ""
			}
			return nil
		})
	}()
	if first := <-got; first != "" {
		t.Fatalf("first response holds %q", first)
	}
	mu.Lock()
	for _, c := range conns {
		c.dead.Store(true)
	}
	mu.Unlock()

	hr, err := writer.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", ""))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case name := <-got:
		if name != hr.Name {
			t.Errorf("watch delivered %q, want %q", name, hr.Name)
		}
	case err := <-done:
		t.Fatalf("Watch ended: %v", err)
	case <-ctx.Done():
		t.Fatal("the watch never noticed its connection had died: the change was never delivered")
	}
}
