package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestMetricsFollowPrometheusConventions: operators write alerts and
// dashboards against the names as Prometheus's own linter expects them
// (counters ending _total, units in base units named in the suffix, help
// on every metric); promlint reads a scrape after calls, an offer and a
// dispatch have made every series appear.
func TestMetricsFollowPrometheusConventions(t *testing.T) {
	m := newMetered(t, &testClock{t: time.Now()})
	v := m.createVol(matchVolunteer("Ann", "AB10 1AB"))
	m.offer(m.createHR(shopping()).Name, v.Name)
	if _, err := m.match.Dispatch(m.ctx, &pb.DispatchRequest{}); err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.New(strings.NewReader(m.scrape())).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "go_") || strings.HasPrefix(p.Metric, "process_") {
			continue // the runtime's and the process's collectors, not ours
		}
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}
