package server_test

import (
	"context"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestUnreadCallsLowBurst: a group whose operator set --rate-burst 1 (or
// 5) to slow its scripts had each token's calls refused RATE_LIMITED while
// as many of its calls were still sending their message (a partner's 1 MiB
// batch on a slow line), though the limiter had a call in hand for it: a
// helpline desk's lookup, the next call of the same program, failed while
// the import went up. The burst is calls started at once, counted as they
// start; the calls still arriving are a bound on memory, which a low
// burst does not lower below server.MinUnreadCalls.
func TestUnreadCallsLowBurst(t *testing.T) {
	for _, tc := range []struct {
		burst, held int
		served      bool
	}{
		{burst: 1, held: 1, served: true},
		{burst: 5, held: 5, served: true},
		{burst: 1, held: server.MinUnreadCalls - 1, served: true},
		{burst: 1, held: server.MinUnreadCalls},
		{burst: 5, held: server.MinUnreadCalls},
	} {
		h := newHarnessWithClock(t, nil, server.WithRateLimit(100, tc.burst))
		ctx, cancel := context.WithTimeout(h.ctx, 20*time.Second)
		conn := h.as(h.adminSecret)
		holdUnread(t, ctx, conn, tc.held)
		_, err := pb.NewVolunteerServiceClient(conn).ListVolunteers(ctx, &pb.ListVolunteersRequest{})
		if tc.served && err != nil {
			t.Errorf("--rate-burst %d, %d calls of the token still sending: a whole call refused: %v", tc.burst, tc.held, err)
		}
		if !tc.served && !unreadRefusal(err) {
			t.Errorf("--rate-burst %d, %d calls of the token still sending: a whole call: %v, want the unread refusal", tc.burst, tc.held, err)
		}
		cancel()
	}
}
