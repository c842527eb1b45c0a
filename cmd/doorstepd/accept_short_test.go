package main

import (
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// shortListener fails its first accepts as a process out of file
// descriptors does (EMFILE), then accepts.
type shortListener struct {
	net.Listener
	fail  int
	errno syscall.Errno
}

func (l *shortListener) Accept() (net.Conn, error) {
	if l.fail > 0 {
		l.fail--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", l.errno)}
	}
	c, _ := net.Pipe()
	return c, nil
}

// A server at its open-file limit (a container's ulimit -n, systemd's
// LimitNOFILE) cannot accept connections: gRPC tries again and again,
// saying nothing where the operator looks, and clients wait until their
// deadline. The first failure is said at error level, the rest counted
// into one line a minute, and the end of the shortage is said.
func TestAcceptOutOfFiles(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE} {
		t.Run(errno.Error(), func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			l := trackConns(&shortListener{fail: 500, errno: errno}, zap.New(core))
			for range 500 {
				if _, err := l.Accept(); err == nil {
					t.Fatal("accept succeeded while out of files")
				}
			}
			c, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			_ = c.Close()
			if _, err := l.Accept(); err != nil {
				t.Fatal(err)
			}
			all := logs.All()
			if len(all) != 2 {
				t.Fatalf("500 failed accepts and two good ones logged %d lines, want 2: %v", len(all), all)
			}
			if all[0].Level != zapcore.ErrorLevel {
				t.Errorf("first line at %v, want error: %q", all[0].Level, all[0].Message)
			}
			if n, ok := all[1].ContextMap()["failed_accepts"].(int64); !ok || n != 500 {
				t.Errorf("the recovery line counts %v failed accepts, want 500: %q %v", all[1].ContextMap()["failed_accepts"], all[1].Message, all[1].ContextMap())
			}
		})
	}
}

// flapListener fails every other accept for want of files, as a server
// held at its limit does while connections close and clients reconnect:
// each close frees the file the next accept takes, and the accept after
// finds none again.
type flapListener struct {
	net.Listener
	n int
}

func (l *flapListener) Accept() (net.Conn, error) {
	l.n++
	if l.n%2 == 1 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	c, _ := net.Pipe()
	return c, nil
}

// A server held at its open-file limit while connections come and go
// fails an accept, takes the next, fails the one after: the shortage is
// said once a minute however often it ends between, not twice for every
// connection that closes.
func TestAcceptOutOfFilesOnAndOff(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := trackConns(&flapListener{}, zap.New(core))
	failed := 0
	for range 1000 {
		c, err := l.Accept()
		if err != nil {
			failed++
			continue
		}
		_ = c.Close()
	}
	all := logs.All()
	if len(all) > 2 {
		t.Fatalf("%d accepts failed, each after a good one, and %d lines were logged, want the shortage said once and its end once: first %q, %q, %q",
			failed, len(all), all[0].Message, all[1].Message, all[2].Message)
	}
	if len(all) < 1 || all[0].Level != zapcore.ErrorLevel {
		t.Fatalf("logged %v, want the shortage at error level first", all)
	}
}

// ENFILE is the whole system's table of open files full, not this
// process's limit: raising ulimit -n, as the line for EMFILE says, does
// nothing for it.
func TestAcceptOutOfFilesSaysWhose(t *testing.T) {
	for _, tc := range []struct {
		errno     syscall.Errno
		want, not string
	}{
		{syscall.EMFILE, "ulimit -n", "fs.file-max"},
		{syscall.ENFILE, "fs.file-max", "ulimit -n"},
	} {
		core, logs := observer.New(zapcore.DebugLevel)
		l := trackConns(&shortListener{fail: 1, errno: tc.errno}, zap.New(core))
		if _, err := l.Accept(); err == nil {
			t.Fatal("accept succeeded while out of files")
		}
		all := logs.All()
		if len(all) != 1 || !strings.Contains(all[0].Message, tc.want) || strings.Contains(all[0].Message, tc.not) {
			t.Errorf("%v: logged %v, want one line saying %q and not %q", tc.errno, all, tc.want, tc.not)
		}
	}
}
