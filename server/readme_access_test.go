package server_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/doorstep-aid/doorstep/internal/readmetest"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestREADMEAccessTableIsTheAccessTable holds the README's table of which
// role may call which method to the server's own: an app written in
// another language has the protos and the README, not server/auth.go, and
// without the table learns what its token may do only from
// PERMISSION_DENIED.
func TestREADMEAccessTableIsTheAccessTable(t *testing.T) {
	// Said in words beside the table: the health check needs no token,
	// and reflection takes any role's.
	for _, m := range server.OpenMethods() {
		if !strings.HasPrefix(m, "/grpc.health.v1.Health/") {
			t.Errorf("README: only the health check needs no token, but the server lets %s be called without one", m)
		}
	}
	want := map[string]string{}
	for method, roles := range server.Access() {
		if !strings.HasPrefix(method, "/doorstep.v1.") {
			if len(roles) != len(pb.Role_name)-1 {
				t.Errorf("README: reflection takes any role's token, but the server lets only %v call %s", roles, method)
			}
			continue
		}
		var names []string
		for _, r := range roles {
			names = append(names, strings.ToLower(strings.TrimPrefix(r.String(), "ROLE_")))
		}
		slices.Sort(names)
		want[strings.TrimPrefix(method, "/doorstep.v1.")] = strings.Join(names, " ")
	}
	got := map[string]string{}
	section := readmetest.Section(t, "Security")
	for _, cols := range readmetest.Rows(t, section, "`", 2, "| methods | roles |") {
		roles := readmetest.Code(cols[1])
		slices.Sort(roles)
		for _, m := range readmetest.Code(cols[0]) {
			if _, twice := got[m]; twice {
				t.Errorf("README: %s is in two rows of the table of roles", m)
			}
			got[m] = strings.Join(roles, " ")
		}
	}
	for _, m := range slices.Sorted(maps.Keys(want)) {
		switch g, ok := got[m]; {
		case !ok:
			t.Errorf("README: the table of roles under Security lacks %s (%s)", m, want[m])
		case g != want[m]:
			t.Errorf("README: %s is for %s; the server lets %s call it", m, g, want[m])
		}
	}
	for m := range got {
		if _, ok := want[m]; !ok {
			t.Errorf("README: the table of roles names %s, which the server does not serve", m)
		}
	}
}
