package store

import (
	"slices"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A lead lists the audit log from a record's own time on, copied from its
// listing (10:00:01.0007). The clock was then stepped back an hour: what
// was logged in that hour is filed after the record, in its millisecond,
// and was selected at that millisecond's start, before the record, so the
// range held the record and left out the hour after it; and a range
// ending at the record's time held that hour but not the record.
func TestAuditRangeSteppedBackWithinMillisecond(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	res := "helpRequests/01kjmdj1d8nr097k7ydddp8n04"
	rec := func(action string) []*pb.AuditRecord {
		return []*pb.AuditRecord{{Action: action, Resource: res, Actor: "system"}}
	}
	mustOK(t, s.RecordAudit(bg, rec("read_contact")), "audit")
	before := clock.last()
	clock.mu.Lock()
	clock.t = clock.t.Add(700 * time.Microsecond)
	clock.mu.Unlock()
	mustOK(t, s.RecordAudit(bg, rec("create")), "audit")
	created := clock.last()
	clock.mu.Lock()
	clock.t = clock.t.Add(-time.Hour)
	clock.mu.Unlock()
	mustOK(t, s.RecordAudit(bg, rec("update")), "audit")
	for _, tc := range []struct {
		name string
		f    AuditFilter
		want []string
	}{
		{"from the record on", AuditFilter{Start: created}, []string{res + " update", res + " create"}},
		{"up to the record", AuditFilter{End: created}, []string{res + " read_contact"}},
		{"its second", AuditFilter{Start: created.Truncate(time.Second), End: created.Truncate(time.Second).Add(time.Second)}, []string{res + " update", res + " create"}},
		{"before it", AuditFilter{Start: before, End: before.Add(time.Second)}, []string{res + " read_contact"}},
	} {
		for _, f := range []AuditFilter{tc.f, {Resource: res, Start: tc.f.Start, End: tc.f.End}} {
			if got, _ := auditTrail(t, s, f, 10); !slices.Equal(got, tc.want) {
				t.Errorf("%s (resource %q): %v, want %v", tc.name, f.Resource, got, tc.want)
			}
		}
	}
}
