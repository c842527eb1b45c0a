package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A safeguarding lead narrows the audit log to the hours around a
// complaint. The range is read from its end back to its start alone: a
// month of others' records after it, or before it, is not walked (a
// short page with a token to go on, maxScanned at a time, would be), on
// the whole log or on one record's trail.
func TestAuditRangeReadsOnlyTheRange(t *testing.T) {
	defer func(n int) { maxScanned = n }(maxScanned)
	maxScanned = 20
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	mine := "helpRequests/01kjmdj1d8nr097k7ydddp8n04"
	rec := func(res, action string) *pb.AuditRecord {
		return &pb.AuditRecord{Action: action, Resource: res, Actor: "tokens/desk", Role: pb.Role_ROLE_HELPLINE}
	}
	many := func(res string) {
		var recs []*pb.AuditRecord
		for i := range 5 * maxScanned {
			recs = append(recs, rec(fmt.Sprintf("%s%d", res, i), "read_contact"), rec(mine, "read_contact"))
		}
		mustOK(t, s.RecordAudit(bg, recs), "audit")
	}
	many("helpRequests/before")
	start := clock.last().Add(time.Second) // the next write's time
	mustOK(t, s.RecordAudit(bg, []*pb.AuditRecord{rec(mine, "create")}), "audit")
	mustOK(t, s.RecordAudit(bg, []*pb.AuditRecord{rec("volunteers/01kjmdj2cgqpf79xr0q90m96wr", "update")}), "audit")
	mustOK(t, s.RecordAudit(bg, []*pb.AuditRecord{rec(mine, "update")}), "audit")
	end := clock.last().Add(time.Second)
	many("helpRequests/after")

	for _, tc := range []struct {
		name string
		f    AuditFilter
		want []string
	}{
		{"the whole log", AuditFilter{Start: start, End: end},
			[]string{mine + " update", "volunteers/01kjmdj2cgqpf79xr0q90m96wr update", mine + " create"}},
		{"one record", AuditFilter{Resource: mine, Start: start, End: end}, []string{mine + " update", mine + " create"}},
		{"a person's records", AuditFilter{AnyResource: []string{mine, "phone"}, Start: start, End: end}, []string{mine + " update", mine + " create"}},
		{"an action", AuditFilter{Action: "create", Start: start, End: end}, []string{mine + " create"}},
		{"from its start", AuditFilter{Resource: mine, Start: end.Add(-time.Second), End: end}, []string{mine + " update"}},
		{"an hour with nothing", AuditFilter{Start: start.Add(-time.Hour), End: start.Add(-30 * time.Minute)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, pages := auditTrail(t, s, tc.f, 10)
			if !slices.Equal(got, tc.want) || pages != 1 {
				t.Errorf("%v in %d pages, want %v in one", got, pages, tc.want)
			}
			if got, _ := auditTrail(t, s, tc.f, 1); !slices.Equal(got, tc.want) {
				t.Errorf("a page at a time: %v, want %v", got, tc.want)
			}
		})
	}
}

// A record logged while the clock stood behind the log (stepped back)
// bears its own time but is filed after the records before it, and a
// range selects it where it is filed: a range stays one run of the log,
// and no record is missed by a reader seeking to the range's end.
func TestAuditRangeClockSteppedBack(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	res := "helpRequests/01kjmdj1d8nr097k7ydddp8n04"
	rec := func(action string) []*pb.AuditRecord {
		return []*pb.AuditRecord{{Action: action, Resource: res, Actor: "system"}}
	}
	mustOK(t, s.RecordAudit(bg, rec("create")), "audit")
	filed := clock.last()
	clock.mu.Lock()
	clock.t = clock.t.Add(-time.Hour)
	clock.mu.Unlock()
	mustOK(t, s.RecordAudit(bg, rec("update")), "audit")
	for _, tc := range []struct {
		name       string
		start, end time.Time
		want       []string
	}{
		{"where it is filed", filed, filed.Add(time.Millisecond), []string{res + " update", res + " create"}},
		{"its own time", filed.Add(-time.Hour), filed.Add(-time.Hour + time.Minute), nil},
	} {
		for _, f := range []AuditFilter{{Start: tc.start, End: tc.end}, {Resource: res, Start: tc.start, End: tc.end}} {
			if got, _ := auditTrail(t, s, f, 10); !slices.Equal(got, tc.want) {
				t.Errorf("%s (resource %q): %v, want %v", tc.name, f.Resource, got, tc.want)
			}
		}
	}
}
