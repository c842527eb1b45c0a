package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestWatchEndedByServerSaysWhereItStopped is a coordinator's watch
// that the server ends, not Ctrl-C: the shift's token is withdrawn (or
// runs out) mid-shift. The next shift needs where the stream had reached
// as much as after a Ctrl-C; before, only the error was said, and the
// next watch started from now, missing the gap.
func TestWatchEndedByServerSaysWhereItStopped(t *testing.T) {
	e := newTestEnv(t)
	secret, hash, err := server.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.st.CreateToken(context.Background(), &pb.Token{DisplayName: "morning shift", Role: pb.Role_ROLE_COORDINATOR}, hash, false)
	if err != nil {
		t.Fatal(err)
	}
	e.newRequest()
	env := func(name string) string {
		if name == "DOORSTEP_TOKEN" {
			return secret
		}
		return e.getenv(name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runAt(ctx, []string{"watch", "--from", "1", "--type", "help_request_created"}, env, strings.NewReader(""), &out, &errOut, e.clock.now)
	}()
	for !strings.Contains(out.String(), "\n") {
		select {
		case code := <-done:
			t.Fatalf("watch ended early with exit %d: %s%s", code, out.String(), errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if _, err := e.st.RevokeToken(context.Background(), strings.TrimPrefix(tok.Name, "tokens/")); err != nil {
		t.Fatal(err)
	}
	e.newRequest("--phone", "01224 765432") // the stream's next send finds the token gone
	var code int
	select {
	case code = <-done:
	case <-ctx.Done():
		t.Fatalf("watch went on after its token was revoked: %s", errOut.String())
	}
	if code == 0 {
		t.Errorf("watch ended by the server exited 0")
	}
	if !regexp.MustCompile(`Stopped after revision [0-9]+: to carry on from here, doorstep watch --from [0-9]+ with the same --type and --org\.`).MatchString(errOut.String()) {
		t.Errorf("watch ended by the server said %q; want where to carry on from", errOut.String())
	}
}
