package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// livePostcodes are live units of the sample within a few hundred metres
// of each other, so that every volunteer is within reach of every request.
var livePostcodes = []string{"AB10 1AB", "AB10 1AF", "AB10 1AG", "AB10 1AL", "AB10 1AN", "AB10 1AP", "AB10 1AS", "AB10 1AU", "AB10 1AW"}

// TestEngineFollowsStoreUnderConcurrentTraffic runs a random mix of every
// write that changes who can be matched (offers made by hand and by
// dispatch, accepted, declined and lapsed; requests completed, cancelled
// and created; volunteers paused, moved, resized and deleted) from many
// callers at once, then checks the live engine against one built afresh
// from the store, as a restart would build it: every request's candidates
// and exclusion counts must be the same. The index is updated on every
// write rather than rebuilt, so a write path that forgets to tell it, or
// an out-of-order update that wins, shows here as a volunteer offered
// while full, or never offered again.
func TestEngineFollowsStoreUnderConcurrentTraffic(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock, server.WithRateLimit(0, 0)) // one token, many callers
	ctx := h.ctx

	var mu sync.Mutex // guards the names below
	var vols, reqs []string
	for i := range 14 {
		v := h.createVol(matchVolunteer(fmt.Sprintf("Volunteer %d", i), livePostcodes[i%len(livePostcodes)], func(v *pb.Volunteer) {
			// Mostly one at a time, so that an offer or an assignment the
			// engine missed changes whether they can be offered more.
			v.Capacity = int32(1 + i%4/3)
			v.Contact.Phone = fmt.Sprintf("07700 900%03d", i)
		}))
		vols = append(vols, v.Name)
	}
	newRequest := func(i int) *pb.HelpRequest {
		return shopping(func(r *pb.HelpRequest) {
			r.Location.Postcode = livePostcodes[i%len(livePostcodes)]
			// A few callers ask more than once, so that continuity counts.
			r.Requester.Phone = fmt.Sprintf("01224 123%03d", i%9)
			// On the test's clock, which the sweeps move on by hours: a
			// third of the requests pass their window during the run, some
			// of them while offered or assigned.
			now, end := clock.now(), 48*time.Hour
			if i%3 == 0 {
				end = 2*time.Hour + time.Duration(i%7)*15*time.Minute
			}
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(now.Add(time.Hour)), EndTime: timestamppb.New(now.Add(end))}}
		})
	}
	for i := range 30 {
		reqs = append(reqs, h.createHR(newRequest(i)).Name)
	}
	pick := func(rng *rand.Rand, names *[]string) string {
		mu.Lock()
		defer mu.Unlock()
		return (*names)[rng.IntN(len(*names))]
	}
	// liveOffer is a random offer in state still in force, or nil.
	liveOffer := func(rng *rand.Rand, state pb.Offer_State) *pb.Offer {
		resp, err := h.match.ListOffers(ctx, &pb.ListOffersRequest{State: state, Live: true, PageSize: 100})
		if err != nil || len(resp.Offers) == 0 {
			return nil
		}
		return resp.Offers[rng.IntN(len(resp.Offers))]
	}

	// Rounds of traffic, each checked once it has settled: a write the
	// engine missed is often healed by the volunteer's next one, so it is
	// looked for while the run is still in full flow, not only at the end.
	const rounds, callers, steps = 10, 8, 10
	for round := range rounds {
		var wg sync.WaitGroup
		for c := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round*callers+c), 7))
				for step := range steps {
					var err error
					op := rng.IntN(13)
					switch op {
					case 0, 1: // the helpline offers the best candidate
						hr := pick(rng, &reqs)
						resp, ferr := h.match.FindCandidates(ctx, &pb.FindCandidatesRequest{HelpRequest: hr})
						if err = ferr; err == nil && len(resp.Candidates) > 0 {
							_, err = h.match.CreateOffer(ctx, &pb.CreateOfferRequest{HelpRequest: hr, Volunteer: resp.Candidates[0].Volunteer})
						}
					case 2: // an offer to anyone, eligible or not
						_, err = h.match.CreateOffer(ctx, &pb.CreateOfferRequest{HelpRequest: pick(rng, &reqs), Volunteer: pick(rng, &vols)})
					case 3, 4:
						if o := liveOffer(rng, pb.Offer_STATE_PENDING); o != nil {
							_, err = h.match.AcceptOffer(ctx, &pb.AcceptOfferRequest{Name: o.Name})
						}
					case 5:
						if o := liveOffer(rng, pb.Offer_STATE_PENDING); o != nil {
							_, err = h.match.DeclineOffer(ctx, &pb.DeclineOfferRequest{Name: o.Name})
						}
					case 6, 12: // the job is done
						if o := liveOffer(rng, pb.Offer_STATE_ACCEPTED); o != nil {
							_, err = h.match.CompleteHelpRequest(ctx, &pb.CompleteHelpRequestRequest{Name: o.HelpRequest})
						}
					case 7:
						_, err = h.match.CancelHelpRequest(ctx, &pb.CancelHelpRequestRequest{Name: pick(rng, &reqs)})
					case 8: // a volunteer pauses, resumes, moves or changes capacity
						v := &pb.Volunteer{Name: pick(rng, &vols), Paused: rng.IntN(3) == 0, Capacity: int32(1 + rng.IntN(4)/3),
							Home: &pb.Location{Postcode: livePostcodes[rng.IntN(len(livePostcodes))], Street: "Union Street"}}
						_, err = h.vol.UpdateVolunteer(ctx, &pb.UpdateVolunteerRequest{Volunteer: v,
							UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused", "capacity", "home.postcode", "home.street"}}})
					case 9:
						_, err = h.match.Dispatch(ctx, &pb.DispatchRequest{})
					case 10: // leases lapse, and the sweep returns their requests
						clock.advance(11 * time.Minute)
						h.srv.Sweep(ctx)
					case 11:
						if rng.IntN(4) == 0 {
							name := pick(rng, &vols)
							if _, err = h.vol.DeleteVolunteer(ctx, &pb.DeleteVolunteerRequest{Name: name}); err == nil {
								var resp *pb.CreateVolunteerResponse
								resp, err = h.vol.CreateVolunteer(ctx, &pb.CreateVolunteerRequest{Volunteer: matchVolunteer("Newcomer", livePostcodes[rng.IntN(len(livePostcodes))])})
								if err == nil {
									mu.Lock()
									vols[slices.Index(vols, name)] = resp.Volunteer.Name
									mu.Unlock()
								}
							}
						} else {
							resp, cerr := h.hr.CreateHelpRequest(ctx, &pb.CreateHelpRequestRequest{HelpRequest: newRequest((round*callers+c)*steps + step)})
							if err = cerr; err == nil {
								mu.Lock()
								reqs = append(reqs, resp.HelpRequest.Name)
								mu.Unlock()
							}
						}
					}
					// Losing a race is an answer, not a failure; so is a
					// capacity below what the volunteer holds by then.
					switch code := status.Code(err); {
					case code == codes.OK, code == codes.FailedPrecondition, code == codes.Aborted, code == codes.NotFound:
					case code == codes.InvalidArgument && op == 8 && strings.Contains(err.Error(), "volunteer.capacity"):
					default:
						t.Errorf("caller %d step %d: %v", c, step, err)
					}
				}
			}()
		}
		wg.Wait()
		fresh, err := server.New(h.st, zap.NewNop(), server.WithClock(clock.now))
		if err != nil {
			t.Fatal(err)
		}
		compareEngines(t, round, h.srv, fresh, reqs)
	}

	// The traffic must have exercised the lifecycle, or the comparisons
	// above prove little.
	counts := map[pb.Offer_State]int{}
	for tok := ""; ; {
		resp, err := h.match.ListOffers(ctx, &pb.ListOffersRequest{PageSize: 1000, PageToken: tok, State: pb.Offer_STATE_UNSPECIFIED})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range resp.Offers {
			counts[o.State]++
		}
		if tok = resp.NextPageToken; tok == "" {
			break
		}
	}
	for _, s := range []pb.Offer_State{pb.Offer_STATE_ACCEPTED, pb.Offer_STATE_DECLINED, pb.Offer_STATE_EXPIRED, pb.Offer_STATE_WITHDRAWN} {
		if counts[s] == 0 {
			t.Errorf("no offer ended %v: the traffic is too thin to test anything (%v)", s, counts)
		}
	}

	t.Logf("offers by final state: %v", counts)
}

// compareEngines asks live and fresh for every request's candidates, up
// to 100 so that everyone in reach is either listed or counted.
func compareEngines(t *testing.T, round int, live, fresh *server.Server, reqs []string) {
	t.Helper()
	ctx := context.Background()
	listed, counted := 0, 0
	for _, name := range reqs {
		req := &pb.FindCandidatesRequest{HelpRequest: name, PageSize: 100}
		got, err := live.FindCandidates(ctx, req)
		if err != nil {
			t.Fatalf("live engine, %s: %v", name, err)
		}
		want, err := fresh.FindCandidates(ctx, req)
		if err != nil {
			t.Fatalf("fresh engine, %s: %v", name, err)
		}
		if !proto.Equal(got, want) {
			t.Errorf("round %d, %s: the live engine answers\n%s\na fresh one built from the store answers\n%s", round, name, prototext.Format(got), prototext.Format(want))
		}
		listed += len(want.Candidates)
		for _, x := range want.Exclusions {
			counted += int(x.Count)
		}
	}
	t.Logf("round %d: compared %d requests: %d candidates listed, %d volunteers counted out", round, len(reqs), listed, counted)
	if listed+counted == 0 {
		t.Error("no request listed or counted anyone: nothing was compared")
	}
}
