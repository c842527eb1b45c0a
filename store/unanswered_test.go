package store

import (
	"testing"
	"time"
)

// TestUnansweredOffersPause holds the count of offers in a row a volunteer
// let run out (pb.Volunteer.unanswered_offers) to what each step does to
// it, and the pause to the limit: a volunteer who never answers would
// otherwise hold every request offered to them for a whole lease.
func TestUnansweredOffersPause(t *testing.T) {
	type step struct {
		do        string // lapse (the sweep), late (a withdrawal after the lease), withdraw, decline, accept, resume
		count     int32  // unanswered_offers after it
		paused    bool   // paused after it
		nowPaused bool   // LifecycleResult.PausedUnanswered of the step
	}
	for _, tc := range []struct {
		name  string
		limit int // -1: the default
		steps []step
	}{
		{"three lapses pause, by default", -1, []step{
			{do: "lapse", count: 1}, {do: "lapse", count: 2}, {do: "lapse", count: 3, paused: true, nowPaused: true},
		}},
		{"a decline starts again", 3, []step{
			{do: "lapse", count: 1}, {do: "lapse", count: 2}, {do: "decline", count: 0},
			{do: "lapse", count: 1}, {do: "lapse", count: 2}, {do: "lapse", count: 3, paused: true, nowPaused: true},
		}},
		{"an accept starts again", 2, []step{
			{do: "lapse", count: 1}, {do: "accept", count: 0}, {do: "lapse", count: 1},
		}},
		{"a withdrawal is not theirs to answer", 2, []step{
			{do: "lapse", count: 1}, {do: "withdraw", count: 1}, {do: "lapse", count: 2, paused: true, nowPaused: true},
		}},
		{"a withdrawal after the lease lapses it", 2, []step{
			{do: "lapse", count: 1}, {do: "late", count: 2, paused: true, nowPaused: true},
		}},
		{"a resume starts again", 1, []step{
			{do: "lapse", count: 1, paused: true, nowPaused: true}, {do: "resume", count: 0}, {do: "lapse", count: 1, paused: true, nowPaused: true},
		}},
		{"0 never pauses", 0, []step{
			{do: "lapse", count: 1}, {do: "lapse", count: 2}, {do: "lapse", count: 3}, {do: "lapse", count: 4},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			opts := []Option{WithClock(clock.now)}
			if tc.limit >= 0 {
				opts = append(opts, WithPauseAfterUnanswered(tc.limit))
			}
			s, _ := newStore(t, opts...)
			v := lcVolunteer(t, s, 20)
			for i, st := range tc.steps {
				var res LifecycleResult
				switch st.do {
				case "resume":
					cur, err := s.GetVolunteer(bg, idOf(v.Name))
					mustOK(t, err, "get volunteer")
					cur.Paused = false
					cur, err = s.UpdateVolunteer(bg, cur)
					mustOK(t, err, "resume")
					res.Volunteer = cur
				default:
					off := lcOffer(t, s, lcRequest(t, s), v).Offer
					switch st.do {
					case "lapse":
						clock.advance(lcLease)
						got, err := s.ExpireOffers(bg, clock.now(), 10)
						mustOK(t, err, "sweep")
						if len(got) != 1 {
							t.Fatalf("step %d: the sweep ended %d offers", i, len(got))
						}
						res = got[0]
					case "late":
						clock.advance(lcLease)
						res = lcMust(t, "withdraw")(s.WithdrawOffer(bg, idOf(off.Name), "PAUSED"))
					case "withdraw":
						res = lcMust(t, "withdraw")(s.WithdrawOffer(bg, idOf(off.Name), "PAUSED"))
					case "decline":
						res = lcMust(t, "decline")(s.DeclineOffer(bg, idOf(off.Name)))
					case "accept":
						res = lcMust(t, "accept")(s.AcceptOffer(bg, idOf(off.Name)))
					}
				}
				got := res.Volunteer
				if got.UnansweredOffers != st.count || got.Paused != st.paused || res.PausedUnanswered != st.nowPaused {
					t.Errorf("step %d (%s): unanswered %d, paused %v, paused now %v; want %d, %v, %v",
						i, st.do, got.UnansweredOffers, got.Paused, res.PausedUnanswered, st.count, st.paused, st.nowPaused)
				}
				// As stored, not only as returned.
				stored, err := s.GetVolunteer(bg, idOf(v.Name))
				mustOK(t, err, "get volunteer")
				if stored.UnansweredOffers != st.count || stored.Paused != st.paused {
					t.Errorf("step %d (%s): stored unanswered %d, paused %v", i, st.do, stored.UnansweredOffers, stored.Paused)
				}
			}
			verifyAll(t, s)
		})
	}
}

// TestUnansweredOffersOutputOnly: an update cannot set the count, nor
// clear it while the volunteer stays paused; a new volunteer starts at 0.
func TestUnansweredOffersOutputOnly(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now), WithPauseAfterUnanswered(1))
	v := newVolunteer("org-a", "AB10 1AF", "+447700800999", "driver")
	v.UnansweredOffers = 7
	v, err := s.CreateVolunteer(bg, v, Idempotency{})
	mustOK(t, err, "create volunteer")
	if v.UnansweredOffers != 0 {
		t.Fatalf("created with unanswered_offers %d", v.UnansweredOffers)
	}
	lcOffer(t, s, lcRequest(t, s), v)
	clock.advance(lcLease)
	if _, err := s.ExpireOffers(bg, clock.now(), 10); err != nil {
		t.Fatal(err)
	}
	cur, err := s.GetVolunteer(bg, idOf(v.Name))
	mustOK(t, err, "get volunteer")
	if !cur.Paused || cur.UnansweredOffers != 1 {
		t.Fatalf("after one lapse with limit 1: paused %v, unanswered %d", cur.Paused, cur.UnansweredOffers)
	}
	cur.UnansweredOffers, cur.MaxDistanceMetres = 0, 4000 // an edit of something else, still paused
	cur, err = s.UpdateVolunteer(bg, cur)
	mustOK(t, err, "update volunteer")
	if cur.UnansweredOffers != 1 || !cur.Paused {
		t.Errorf("an edit while paused: unanswered %d, paused %v; want 1, true", cur.UnansweredOffers, cur.Paused)
	}
}

func TestOpenRefusesNegativePauseAfter(t *testing.T) {
	if _, err := Open(t.TempDir()+"/doorstep.db", WithPauseAfterUnanswered(-1)); err == nil {
		t.Fatal("Open took a negative limit")
	}
}

// TestUnansweredOffersOwnPause: a volunteer who pauses themselves (or is
// paused by a coordinator) was not paused by the server, and their record
// must not read as if they had been: paused with unanswered_offers above
// 0 is how staff (doorstep volunteer show) and their app tell the
// server's pause from their own. Their own pause starts the count again,
// and an offer their pause ends after its lease lapses without counting,
// as the resume that ends the pause would set it back to 0 anyway.
func TestUnansweredOffersOwnPause(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	v := lcVolunteer(t, s, 20)
	lcOffer(t, s, lcRequest(t, s), v)
	clock.advance(lcLease)
	if _, err := s.ExpireOffers(bg, clock.now(), 10); err != nil {
		t.Fatal(err)
	}
	late := lcOffer(t, s, lcRequest(t, s), v).Offer
	clock.advance(lcLease) // its lease passes before the pause's review

	cur, err := s.GetVolunteer(bg, idOf(v.Name))
	mustOK(t, err, "get volunteer")
	if cur.UnansweredOffers != 1 {
		t.Fatalf("after one lapse: unanswered %d", cur.UnansweredOffers)
	}
	cur.Paused = true // away for a week, say
	cur, err = s.UpdateVolunteer(bg, cur)
	mustOK(t, err, "pause")
	if cur.UnansweredOffers != 0 {
		t.Errorf("paused by themselves: unanswered %d, want 0 (staff would read the server's pause)", cur.UnansweredOffers)
	}
	res := lcMust(t, "withdraw")(s.WithdrawOffer(bg, idOf(late.Name), "PAUSED")) // the pause's review
	if res.Offer.State.String() != "STATE_EXPIRED" || res.PausedUnanswered {
		t.Fatalf("the late offer: %v, paused now %v", res.Offer.State, res.PausedUnanswered)
	}
	stored, err := s.GetVolunteer(bg, idOf(v.Name))
	mustOK(t, err, "get volunteer")
	if !stored.Paused || stored.UnansweredOffers != 0 {
		t.Errorf("paused by themselves, an offer then lapsed: paused %v, unanswered %d; want true, 0", stored.Paused, stored.UnansweredOffers)
	}
	verifyAll(t, s)
}

// TestUnansweredOffersRestoredBackup: a backup put back undoes every
// answer given after it was taken, and its offers that lapsed meanwhile
// lapse at the first sweep (README, Backups). Counted, they paused a
// volunteer who took the three jobs a dispatch offered them just after
// the backup, and told staff that they had let them run out; offers
// made before the restore lapse without counting against anyone. So on a
// machine whose clock is behind the one that took it (a fresh box before
// NTP has set it): whatever the clocks, the backup's offers were made
// before the restore, and offers made after it, by the clock behind,
// count.
func TestUnansweredOffersRestoredBackup(t *testing.T) {
	for _, tc := range []struct {
		name          string
		before, after time.Duration // the clock moved before the restored start, and after it
	}{
		{"two hours on", 2 * time.Hour, 0},
		{"on a clock 5 minutes behind", -5 * time.Minute, lcLease + 10*time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			s, path := newStore(t, WithClock(clock.now))
			v := lcVolunteer(t, s, 3)
			for range 3 {
				lcOffer(t, s, lcRequest(t, s), v)
			}
			mustOK(t, s.Close(), "close")
			clock.advance(tc.before) // the backup put back
			r := openAt(t, path, WithClock(clock.now), WithRestored())
			clock.advance(tc.after)
			got, err := r.ExpireOffers(bg, clock.now(), 10)
			mustOK(t, err, "first sweep")
			if len(got) != 3 {
				t.Fatalf("the first sweep ended %d offers, want 3", len(got))
			}
			stored, err := r.GetVolunteer(bg, idOf(v.Name))
			mustOK(t, err, "get volunteer")
			if stored.Paused || stored.UnansweredOffers != 0 {
				t.Errorf("after the restore's first sweep: paused %v, unanswered %d; want false, 0", stored.Paused, stored.UnansweredOffers)
			}
			// Offers made since the restore count as ever.
			lcOffer(t, r, lcRequest(t, r), v)
			clock.advance(lcLease)
			_, err = r.ExpireOffers(bg, clock.now(), 10)
			mustOK(t, err, "sweep")
			stored, err = r.GetVolunteer(bg, idOf(v.Name))
			mustOK(t, err, "get volunteer")
			if stored.UnansweredOffers != 1 {
				t.Errorf("an offer made after the restore lapsed: unanswered %d, want 1", stored.UnansweredOffers)
			}
			verifyAll(t, r)
		})
	}
}

// TestUnansweredOffersOutAtOnceCountOnce: a volunteer with room for three,
// given three offers by one dispatch run and away for that half hour,
// missed one lease, not three: offers already out when the last counted
// one ran out count with it. Offers made after it count again.
func TestUnansweredOffersOutAtOnceCountOnce(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now), WithPauseAfterUnanswered(3))
	v := lcVolunteer(t, s, 3)
	sweep := func() {
		t.Helper()
		if _, err := s.ExpireOffers(bg, clock.now(), 10); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, count int32, paused bool) {
		t.Helper()
		got, err := s.GetVolunteer(bg, idOf(v.Name))
		mustOK(t, err, "get volunteer")
		if got.UnansweredOffers != count || got.Paused != paused || (count > 0) != (got.LastUnansweredTime != nil) {
			t.Errorf("%s: unanswered %d (last %v), paused %v; want %d, %v", what, got.UnansweredOffers, got.LastUnansweredTime, got.Paused, count, paused)
		}
	}
	for range 3 {
		lcOffer(t, s, lcRequest(t, s), v)
	}
	clock.advance(lcLease)
	sweep()
	check("three offers out at once, all run out", 1, false)

	// Two more, ten minutes apart: the first runs out and counts; the
	// second was already out then, and runs out with the same absence.
	lcOffer(t, s, lcRequest(t, s), v)
	clock.advance(10 * time.Minute)
	lcOffer(t, s, lcRequest(t, s), v)
	clock.advance(lcLease - 10*time.Minute)
	sweep()
	check("the first of two staggered offers", 2, false)
	clock.advance(10 * time.Minute)
	sweep()
	check("the second, out when the first ran out", 2, false)

	lcOffer(t, s, lcRequest(t, s), v)
	clock.advance(lcLease)
	sweep()
	check("a third lease missed", 3, true)
}

// TestUnansweredOffersClockSetBack: offers out at the same time count
// once, judged by the last counted lapse's time. A clock set back an
// hour after a lapse (NTP putting right a box that ran fast) made every
// offer of the hour after read as made before that lapse, the same
// absence, and none counted: a volunteer letting them all run out held
// each request for a whole lease and was never paused.
func TestUnansweredOffersClockSetBack(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now), WithPauseAfterUnanswered(2))
	v := lcVolunteer(t, s, 3)
	lcOffer(t, s, lcRequest(t, s), v)
	clock.advance(lcLease)
	_, err := s.ExpireOffers(bg, clock.now(), 10)
	mustOK(t, err, "sweep")
	clock.advance(-time.Hour) // the clock put right
	lcOffer(t, s, lcRequest(t, s), v)
	clock.advance(lcLease)
	got, err := s.ExpireOffers(bg, clock.now(), 10)
	mustOK(t, err, "sweep")
	if len(got) != 1 {
		t.Fatalf("the sweep ended %d offers, want 1", len(got))
	}
	stored, err := s.GetVolunteer(bg, idOf(v.Name))
	mustOK(t, err, "get volunteer")
	if stored.UnansweredOffers != 2 || !stored.Paused {
		t.Errorf("two offers made a lease apart lapsed, the clock set back between: unanswered %d, paused %v; want 2, true", stored.UnansweredOffers, stored.Paused)
	}
	verifyAll(t, s)
}
