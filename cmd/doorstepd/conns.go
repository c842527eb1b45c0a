package main

import (
	"net"
	"sync"
)

// trackedListener keeps the connections it accepts until they are
// closed, so that a stop that gives up waiting can close them all. gRPC
// gives a new connection two minutes to finish its TLS handshake and
// HTTP/2 preface, and its Stop waits for those still in them: a port
// scanner's or a load balancer's bare TCP connection held the stop that
// long, past --shutdown-timeout and the second signal.
type trackedListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func trackConns(lis net.Listener) *trackedListener {
	return &trackedListener{Listener: lis, conns: map[*trackedConn]struct{}{}}
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

// closeAll closes every connection accepted and not yet closed.
func (l *trackedListener) closeAll() {
	l.mu.Lock()
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

type trackedConn struct {
	net.Conn
	l *trackedListener
}

func (c *trackedConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}
