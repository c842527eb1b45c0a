package main

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// trackedListener keeps the connections it accepts until they are
// closed, so that a stop that gives up waiting can close them all. gRPC
// gives a new connection two minutes to finish its TLS handshake and
// HTTP/2 preface, and its Stop waits for those still in them: a port
// scanner's or a load balancer's bare TCP connection held the stop that
// long, past --shutdown-timeout and the second signal.
//
// It also says when connections cannot be accepted for want of file
// descriptors (the open-file limit, ulimit -n or systemd's LimitNOFILE,
// reached): gRPC tries again and again, saying nothing where the operator
// looks, while clients wait until their deadline.
type trackedListener struct {
	net.Listener
	logger *zap.Logger
	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	// short counts accepts failed for want of files since the end of a
	// shortage was last said; unsaid, those since the line that said a
	// shortage last, at saidAt. owed says that a shortage was said and
	// its end is still to be.
	short, unsaid int
	saidAt        time.Time
	owed          bool
}

// shortEvery is how often a shortage of files that goes on is said again.
const shortEvery = time.Minute

func trackConns(lis net.Listener, logger *zap.Logger) *trackedListener {
	return &trackedListener{Listener: lis, logger: logger, conns: map[*trackedConn]struct{}{}}
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
			l.outOfFiles(err)
		}
		return nil, err
	}
	tc := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	short, owed := l.short, l.owed
	if owed {
		l.short, l.owed = 0, false
	}
	l.mu.Unlock()
	if owed {
		l.logger.Warn("accepting connections again", zap.Int("failed_accepts", short))
	}
	return tc, nil
}

// outOfFiles says a failed accept, at most once every shortEvery: a
// server held at its limit while connections close and clients come back
// takes one connection between failures, and saying each shortage and its
// end made two lines for every connection that closed.
func (l *trackedListener) outOfFiles(err error) {
	l.mu.Lock()
	l.short++
	l.unsaid++
	now := time.Now()
	if !l.saidAt.IsZero() && now.Sub(l.saidAt) < shortEvery {
		l.mu.Unlock()
		return
	}
	refused := l.unsaid
	l.unsaid, l.saidAt, l.owed = 0, now, true
	l.mu.Unlock()
	msg := "connections not accepted: this process has as many files open as it may (raise ulimit -n, or LimitNOFILE= in the unit); clients wait until they give up"
	if errors.Is(err, syscall.ENFILE) {
		// The host's table is full, not this process's share of it.
		msg = "connections not accepted: the system has as many files open as it may (see what holds them, or raise sysctl fs.file-max); clients wait until they give up"
	}
	l.logger.Error(msg, zap.Error(err), zap.Int("failed_accepts_since_last_said", refused))
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
