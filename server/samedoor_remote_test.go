package server_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// remoteDoor is the setting of the remote door tests: Ann and Bob, each
// with room for one job and a basic check, as a befriending call needs,
// and one caller's two requests at one door whose windows meet (an hour
// from 24 hours on, and two from then), each a befriending call from afar
// (remote_ok) or shopping at the door.
func remoteDoor(t *testing.T, firstRemote, secondRemote bool) (h *harness, ann, bob *pb.Volunteer, first, second *pb.HelpRequest) {
	t.Helper()
	h = newHarness(t)
	vetted := func(v *pb.Volunteer) {
		v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC, ExpireDate: &pb.Date{Year: int32(time.Now().Year() + 2), Month: 1, Day: 1}}
	}
	ann = h.createVol(matchVolunteer("Ann", "AB10 1AF", vetted))
	bob = h.createVol(matchVolunteer("Bob", "AB10 1AB", vetted, phoned("07700 900222")))
	first = h.createHR(shopping(hours(24, 25), remoteOr(firstRemote)))
	second = h.createHR(shopping(hours(24, 26), remoteOr(secondRemote)))
	return h, ann, bob, first, second
}

// remoteOr makes a request a befriending call from afar if remote, else
// leaves it shopping at the door.
func remoteOr(remote bool) func(*pb.HelpRequest) {
	return func(r *pb.HelpRequest) {
		if remote {
			r.Needs, r.RemoteOk = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true
		}
	}
}

// TestRemoteRequestIsNoVisitToTheDoor: one volunteer to one door at one
// time is about visits in person. A befriending call from afar (remote_ok)
// takes nobody to the caller's door: beside shopping at a meeting time, the
// call's volunteer did not keep a second volunteer from the shopping (an
// offer by hand refused SAME_DOOR, dispatch holding it back for the
// befriender, who may live far away), nor did the shopper's keep one from
// the call; and two calls had one wait for the other's volunteer.
func TestRemoteRequestIsNoVisitToTheDoor(t *testing.T) {
	for _, kind := range []struct {
		name          string
		first, second bool // remote
	}{
		{"remote+in-person", true, false},
		{"in-person+remote", false, true},
		{"remote+remote", true, true},
	} {
		t.Run(kind.name, func(t *testing.T) {
			t.Run("offer by hand", func(t *testing.T) {
				h, ann, bob, first, second := remoteDoor(t, kind.first, kind.second)
				h.offer(first.Name, ann.Name)
				if _, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: second.Name, Volunteer: bob.Name}); err != nil {
					t.Errorf("offer to Bob while Ann is offered the other: %v", err)
				}
			})
			t.Run("candidates", func(t *testing.T) {
				h, ann, _, first, second := remoteDoor(t, kind.first, kind.second)
				h.offer(first.Name, ann.Name)
				fc, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: second.Name})
				if err != nil {
					t.Fatal(err)
				}
				if fc.VolunteerComing != "" {
					t.Errorf("volunteer coming %q, want none", fc.VolunteerComing)
				}
			})
			t.Run("dispatch", func(t *testing.T) {
				h, ann, bob, first, second := remoteDoor(t, kind.first, kind.second)
				h.offer(first.Name, ann.Name) // Ann has no room left
				resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
				if err != nil {
					t.Fatal(err)
				}
				if resp.OffersMade != 1 || resp.SameDoor != 0 {
					t.Errorf("dispatch %v, want the other offered, none kept for Ann", resp)
				}
				if got := h.getHR(second.Name); got.State != pb.HelpRequest_STATE_OFFERED || h.getOffer(got.Offer).Volunteer != bob.Name {
					t.Errorf("the other request is %v, want offered to Bob", got.State)
				}
			})
			t.Run("dispatch both", func(t *testing.T) {
				h, _, _, _, _ := remoteDoor(t, kind.first, kind.second)
				resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
				if err != nil {
					t.Fatal(err)
				}
				if resp.OffersMade != 2 || resp.SameDoor != 0 {
					t.Errorf("dispatch %v, want both offered, one to each", resp)
				}
			})
			t.Run("accept", func(t *testing.T) {
				h, ann, bob, first, second := remoteDoor(t, kind.first, kind.second)
				// Offered apart, then brought to meet in the store itself
				// (another process's write): the accept judges the door.
				stored, err := h.st.GetHelpRequest(h.ctx, strings.TrimPrefix(second.Name, "helpRequests/"))
				if err != nil {
					t.Fatal(err)
				}
				hours(30, 32)(stored)
				if _, err := h.st.UpdateHelpRequest(h.ctx, stored); err != nil {
					t.Fatal(err)
				}
				toBob := h.offer(second.Name, bob.Name)
				h.offer(first.Name, ann.Name)
				if stored, err = h.st.GetHelpRequest(h.ctx, strings.TrimPrefix(second.Name, "helpRequests/")); err != nil {
					t.Fatal(err)
				}
				hours(24, 26)(stored)
				if _, err := h.st.UpdateHelpRequest(h.ctx, stored); err != nil {
					t.Fatal(err)
				}
				if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: toBob.Name}); err != nil {
					t.Errorf("Bob's accept: %v", err)
				}
			})
		})
	}
}

// TestEditBetweenRemoteAndInPerson: an edit that makes a request a call
// from afar frees it from the volunteer going to the door; one that makes
// a call from afar a visit brings its volunteer to the door, and is judged
// as a new time or place is: a pending offer is withdrawn, an assigned
// request's edit refused.
func TestEditBetweenRemoteAndInPerson(t *testing.T) {
	toRemote := &pb.HelpRequest{Needs: []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, RemoteOk: true}
	toVisit := &pb.HelpRequest{Needs: []pb.Need{pb.Need_NEED_GROCERY_SHOPPING}}
	edit := func(h *harness, name string, to *pb.HelpRequest) (*pb.HelpRequest, error) {
		r := &pb.HelpRequest{Name: name, Needs: to.Needs, RemoteOk: to.RemoteOk}
		resp, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: r, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"needs", "remote_ok"}}})
		return resp.GetHelpRequest(), err
	}
	t.Run("open request made remote is offered to another", func(t *testing.T) {
		h, ann, bob, first, second := remoteDoor(t, false, false)
		h.offer(first.Name, ann.Name)
		if _, err := edit(h, second.Name, toRemote); err != nil {
			t.Fatal(err)
		}
		if _, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: second.Name, Volunteer: bob.Name}); err != nil {
			t.Errorf("offer of the call to Bob while Ann is offered the shopping: %v", err)
		}
	})
	t.Run("assigned visit made remote frees the door", func(t *testing.T) {
		h, ann, bob, first, second := remoteDoor(t, false, false)
		if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(first.Name, ann.Name).Name}); err != nil {
			t.Fatal(err)
		}
		if _, err := edit(h, first.Name, toRemote); err != nil {
			t.Fatal(err)
		}
		resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
		if err != nil || resp.OffersMade != 1 || h.getOffer(h.getHR(second.Name).Offer).Volunteer != bob.Name {
			t.Errorf("dispatch %v %v, want the shopping offered to Bob", resp, err)
		}
	})
	t.Run("offered call made a visit is withdrawn", func(t *testing.T) {
		h, ann, bob, first, second := remoteDoor(t, false, true)
		if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(first.Name, ann.Name).Name}); err != nil {
			t.Fatal(err)
		}
		r, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: second.Name, Volunteer: bob.Name})
		if err != nil {
			t.Fatalf("offer of the call to Bob while Ann is going to the door: %v", err)
		}
		got, err := edit(h, second.Name, toVisit)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != pb.HelpRequest_STATE_OPEN {
			t.Errorf("after the edit the request is %v, want OPEN", got.State)
		}
		if o := h.getOffer(r.Offer.Name); o.State != pb.Offer_STATE_WITHDRAWN || o.WithdrawReason != server.ReasonSameDoor {
			t.Errorf("Bob's offer is %v (%s), want WITHDRAWN for SAME_DOOR", o.State, o.WithdrawReason)
		}
	})
	t.Run("assigned call made a visit is refused", func(t *testing.T) {
		h, ann, bob, first, second := remoteDoor(t, true, false)
		if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(first.Name, ann.Name).Name}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: second.Name, Volunteer: bob.Name}); err != nil {
			t.Fatalf("offer of the shopping to Bob while Ann is to call: %v", err)
		}
		before := h.getHR(first.Name)
		_, err := edit(h, first.Name, toVisit)
		wantFailure(t, err, codes.FailedPrecondition, server.ReasonSameDoor)
		if after := h.getHR(first.Name); after.Etag != before.Etag {
			t.Errorf("the refused edit changed the request: %v", after)
		}
	})
}
