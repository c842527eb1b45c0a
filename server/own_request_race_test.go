package server_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// numberMadeOneMidway is a store that, once armed, gives a volunteer the
// caller's number right after a handler has read what it judges the
// offer or accept by (MatchingInput): an edit of the volunteer's number
// committing between the check and the write. The edit is the store's
// own, its review not yet run: it would find the offer answered, or not
// yet made, and leave it.
type numberMadeOneMidway struct {
	store.Store
	t     *testing.T
	armed *bool
	vol   *string // the volunteer's id
	phone string  // the caller's number, as stored
}

func (m numberMadeOneMidway) MatchingInput(ctx context.Context, id string) (store.MatchingInput, error) {
	in, err := m.Store.MatchingInput(ctx, id)
	m.edit(ctx)
	return in, err
}

// ListOpenMatchingInputs is dispatch's read.
func (m numberMadeOneMidway) ListOpenMatchingInputs(ctx context.Context, p store.Page) ([]store.MatchingInput, string, error) {
	in, next, err := m.Store.ListOpenMatchingInputs(ctx, p)
	m.edit(ctx)
	return in, next, err
}

func (m numberMadeOneMidway) edit(ctx context.Context) {
	if !*m.armed {
		return
	}
	*m.armed = false
	v, err := m.Store.GetVolunteer(ctx, *m.vol)
	if err != nil {
		m.t.Fatal(err)
	}
	v.Contact.Phone = m.phone
	if _, err := m.Store.UpdateVolunteer(ctx, v); err != nil {
		m.t.Fatal(err)
	}
}

// TestOwnRequestJudgedInTheWrite: Margaret volunteers from her mobile and
// rings for help from her landline; a coordinator puts her landline on
// her volunteer record at the moment an offer of her request to her is
// made (by hand, or by dispatch), or she accepts one. Checked only before
// the write, the offer (or the accept) was written on what was read before
// the edit: she was offered, or assigned, her own request, and the edit's
// review, finding no offer yet or one already accepted, left it. The
// write judges it again, as it does every other rule.
func TestOwnRequestJudgedInTheWrite(t *testing.T) {
	const landline, stored = "01224 123456", "+441224123456"
	for _, name := range []string{"offer", "dispatch", "accept"} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			armed := false
			var volID string
			h.wrap = func(st store.Store) store.Store {
				return numberMadeOneMidway{Store: st, t: t, armed: &armed, vol: &volID, phone: stored}
			}
			h.reopen()
			self := h.createVol(matchVolunteer("Margaret", "AB10 1AB", phoned("07700 900555")))
			volID = strings.TrimPrefix(self.Name, "volunteers/")
			hr := h.createHR(shopping(callerPhone(landline)))
			switch name {
			case "offer":
				armed = true
				_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: self.Name})
				if armed {
					t.Fatal("the edit never ran")
				}
				wantFailure(t, err, codes.FailedPrecondition, server.ReasonNotEligible)
				if got := errorMetadata(err)["rule"]; got != "OWN_REQUEST" {
					t.Errorf("refusal's rule %q, want OWN_REQUEST", got)
				}
			case "dispatch":
				armed = true
				got, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
				if armed {
					t.Fatal("the edit never ran")
				}
				if err != nil {
					t.Fatal(err)
				}
				if got.OffersMade != 0 {
					t.Errorf("dispatch made %d offers, want none: Margaret is the only volunteer", got.OffersMade)
				}
			case "accept":
				offer := h.offer(hr.Name, self.Name) // two people, as far as anyone knows
				armed = true
				_, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: offer.Name})
				if armed {
					t.Fatal("the edit never ran")
				}
				wantFailure(t, err, codes.FailedPrecondition, server.ReasonNotEligible)
				if got := errorMetadata(err)["rule"]; got != "OWN_REQUEST" {
					t.Errorf("refusal's rule %q, want OWN_REQUEST", got)
				}
				got, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: offer.Name})
				if err != nil {
					t.Fatal(err)
				}
				if got.Offer.State != pb.Offer_STATE_WITHDRAWN || got.Offer.WithdrawReason != "OWN_REQUEST" {
					t.Errorf("offer %v (%q) after the refused accept, want withdrawn, OWN_REQUEST", got.Offer.State, got.Offer.WithdrawReason)
				}
			}
			if got := h.getHR(hr.Name); got.State != pb.HelpRequest_STATE_OPEN {
				t.Errorf("Margaret's request is %v (volunteer %q), want open for a neighbour", got.State, got.AssignedVolunteer)
			}
		})
	}
}
