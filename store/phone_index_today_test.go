package store

import (
	"errors"
	"testing"
)

// TestPhoneIndexKeyedByTodaysForm: the phone index is keyed by a number's
// form today, on write and on lookup, so that a record written in the
// older form (+3530871234567) after the upgrade, by whatever writer, is
// still the person's: found, exported and erased by either form, and
// their own request is not offered to them as a volunteer.
func TestPhoneIndexKeyedByTodaysForm(t *testing.T) {
	s, _ := newStore(t)
	old, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", olderForm), Idempotency{})
	mustOK(t, err, "create in the older form")
	today, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", todayForm), Idempotency{})
	mustOK(t, err, "create in today's form")
	vol, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", todayForm), Idempotency{})
	mustOK(t, err, "create volunteer")
	for _, form := range []string{olderForm, todayForm} {
		hrs, _, err := s.ListHelpRequests(bg, HelpRequestFilter{Phone: form}, Page{Size: 10})
		mustOK(t, err, "list")
		if got := names(hrs); len(got) != 2 || got[0] != old.Name || got[1] != today.Name {
			t.Errorf("requests by %s: %v, want %s and %s", form, got, old.Name, today.Name)
		}
		vs, _, err := s.ListVolunteers(bg, VolunteerFilter{Phone: form}, Page{Size: 10})
		mustOK(t, err, "list volunteers")
		if len(vs) != 1 {
			t.Errorf("volunteers by %s: %d, want 1", form, len(vs))
		}
		exp, err := s.ExportPerson(bg, form)
		mustOK(t, err, "export")
		if len(exp.HelpRequests) != 2 || len(exp.Volunteers) != 1 {
			t.Errorf("export by %s: %d requests, %d volunteers; want 2 and 1", form, len(exp.HelpRequests), len(exp.Volunteers))
		}
	}
	if _, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(old.Name), VolunteerID: idOf(vol.Name), Lease: lcLease}); !errors.Is(err, ErrOwnRequest) {
		t.Errorf("offer of the request made from %s to the volunteer on %s: %v, want %v", olderForm, todayForm, err, ErrOwnRequest)
	}
	verifyAll(t, s)
	res, err := s.ErasePerson(bg, olderForm, s.now())
	mustOK(t, err, "erase")
	if len(res.HelpRequests) != 2 || len(res.Volunteers) != 1 {
		t.Errorf("erasure by %s: %d requests, %d volunteers; want 2 and 1", olderForm, len(res.HelpRequests), len(res.Volunteers))
	}
	verifyAll(t, s)
}
