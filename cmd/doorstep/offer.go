package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

func (a *app) offerMake(args []string) error {
	u := usage{
		synopsis: "doorstep offer make REQUEST VOLUNTEER",
		text:     "Offers an open request to one volunteer (pick one from doorstep request candidates). The request is held\nfor them until they accept or decline, or the lease runs out.",
		examples: []string{"doorstep offer make 01jq3m5x8v2k4c6e9g0h1j2k3m 01jq3m7a1b2c3d4e5f6g7h8j9k", "doorstep offer make helpRequests/01jq... volunteers/01jq... --lease 2h"},
	}
	cmd := a.begin("make", u)
	lease := cmd.fs.Duration("lease", 0, "how long the volunteer has to answer, 1m to 168h (when not given, the server's default: 30m unless doorstepd --offer-lease says otherwise; never past the request's own time)")
	second := cmd.fs.Bool("second-volunteer", false, "offer it even though another volunteer is already going to this caller's door then (only if the caller has agreed to two visitors)")
	pos, err := cmd.exactly(args, 2)
	if err != nil {
		return err
	}
	hr, err := resourceName(pos[0], "helpRequests", "help request")
	if err != nil {
		return err
	}
	vol, err := resourceName(pos[1], "volunteers", "volunteer")
	if err != nil {
		return err
	}
	req := &pb.CreateOfferRequest{HelpRequest: hr, Volunteer: vol, AllowSecondVolunteer: *second, RequestId: client.NewRequestID()}
	if *lease != 0 {
		if *lease < time.Minute || *lease > 7*24*time.Hour {
			return usageErrorf("--lease must be from 1m to 168h")
		}
		req.Lease = durationpb.New(*lease)
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	// Asked again after a timeout under the same request_id: an offer made
	// whose answer was lost, made again, was refused as one already made
	// to that volunteer, the coordinator's own read as another's.
	gone := "The offer was made, then deleted with its request before the answer came: nothing of it is kept"
	resp, err := askAgainAfterTimeout(a, "the offer was made", gone, func(ctx context.Context) (*pb.CreateOfferResponse, error) {
		return c.Matching.CreateOffer(ctx, req)
	})
	if coming := volunteerComing(err); coming != "" {
		label, _ := a.volunteerLabel(coming, false)
		if r, err := c.HelpRequests.GetHelpRequest(a.ctx, &pb.GetHelpRequestRequest{Name: hr}); err == nil && slices.Contains(r.HelpRequest.DeclinedVolunteers, coming) {
			// They handed this one back (or declined it): they cannot take it.
			return &cliError{code: exitFailed, msg: fmt.Sprintf("Not offered: %s is already going to this caller's door then, for another of their requests, "+
				"but declined or handed back this one. If the caller agrees to a second visitor, add --second-volunteer.", label)}
		}
		return &cliError{code: exitFailed, msg: fmt.Sprintf("Not offered: %s is already going to this caller's door then, for another of their requests. "+
			"Offer this one to them too, so that only one volunteer comes to the door; if the caller has agreed to two visitors, add --second-volunteer.", label)}
	}
	if client.Reason(err) == server.ReasonWrongState {
		if held := a.heldBy(hr); held != nil {
			return held
		}
	}
	if lost := a.answerLost(err, "The offer may have been made all the same: doorstep request show "+idOf(hr)+" says whether it is offered, and to whom."); lost != nil {
		return lost
	}
	if err != nil {
		return err
	}
	return a.printOffer(resp.Offer, "Offered %s to %s until %s: %s.\n")
}

// heldBy is why a request cannot be offered, refused as not open: whom
// another worker (or dispatch) offered or assigned it to meanwhile, from a
// list now out of date, and what can be done; nil when it cannot be read
// or is open again, and the server's own refusal stands.
func (a *app) heldBy(name string) error {
	c, err := a.client()
	if err != nil {
		return nil
	}
	got, err := c.HelpRequests.GetHelpRequest(a.ctx, &pb.GetHelpRequestRequest{Name: name})
	if err != nil {
		return nil
	}
	hr := got.HelpRequest
	var msg string
	switch hr.State {
	case pb.HelpRequest_STATE_OPEN:
		return nil
	case pb.HelpRequest_STATE_OFFERED:
		o, err := a.readOffer(hr.Offer)
		if err != nil || o == nil {
			msg = fmt.Sprintf("Not offered: %s is offered to a volunteer already: see doorstep request show %s", name, idOf(name))
			break
		}
		who, _ := a.volunteerLabel(o.Volunteer, false)
		msg = fmt.Sprintf("Not offered: %s is offered to %s already, who has until %s to answer (%s). "+
			"If they said no, decline it for them (doorstep offer decline %s), then offer it again", name, who, fmtTS(o.ExpireTime, a.now()), o.Name, idOf(o.Name))
	case pb.HelpRequest_STATE_ASSIGNED:
		who, _ := a.volunteerLabel(hr.AssignedVolunteer, false)
		msg = fmt.Sprintf("Not offered: %s is assigned to %s already. If they cannot go, hand it back (doorstep request release %s), then offer it again",
			name, who, idOf(name))
	case pb.HelpRequest_STATE_FULFILLED, pb.HelpRequest_STATE_CANCELLED, pb.HelpRequest_STATE_EXPIRED:
		msg = fmt.Sprintf("Not offered: %s is %s, and is never offered again", name, stateWord(hr.State))
	default:
		// A state added after this build: whether it ever opens again is
		// the server's to say, not this command's to guess.
		msg = fmt.Sprintf("Not offered: %s is in a state this doorstep does not know, %s: see doorstep request show %s, or upgrade doorstep", name, stateWord(hr.State), idOf(name))
	}
	return &cliError{code: exitFailed, msg: msg + " (" + server.ReasonWrongState + ")."}
}

func (a *app) offerAccept(args []string) error {
	return a.offerStep(args, usage{
		synopsis: "doorstep offer accept OFFER",
		text:     "The volunteer said yes: the request is assigned to them.",
		examples: []string{"doorstep offer accept 01jq3m9z8y7x6w5v4t3s2r1q0p"},
	}, "accept", func(ctx context.Context, c pbMatching, name string) (*pb.Offer, error) {
		r, err := c.AcceptOffer(ctx, &pb.AcceptOfferRequest{Name: name})
		if coming := volunteerComing(err); coming != "" {
			// An edit since the offer brought it to a door someone else is
			// going to then: the server has withdrawn it.
			label, _ := a.volunteerLabel(coming, false)
			return nil, &cliError{code: exitFailed, msg: fmt.Sprintf("Not accepted: %s is already going to this caller's door then, for another of their requests, "+
				"so the offer is withdrawn. Offer the request to them, so that only one volunteer comes to the door.", label)}
		}
		return r.GetOffer(), err
	})
}

func (a *app) offerDecline(args []string) error {
	return a.offerStep(args, usage{
		synopsis: "doorstep offer decline OFFER",
		text:     "The volunteer said no: the request is open again and is never offered to them again.",
		examples: []string{"doorstep offer decline 01jq3m9z8y7x6w5v4t3s2r1q0p"},
	}, "decline", func(ctx context.Context, c pbMatching, name string) (*pb.Offer, error) {
		r, err := c.DeclineOffer(ctx, &pb.DeclineOfferRequest{Name: name})
		return r.GetOffer(), err
	})
}

func (a *app) offerStep(args []string, u usage, name string, step func(context.Context, pbMatching, string) (*pb.Offer, error)) error {
	offer, c, err := a.begin(name, u).connectTo(args, "offers", "offer")
	if err != nil {
		return err
	}
	leaves := map[string]pb.Offer_State{"accept": pb.Offer_STATE_ACCEPTED, "decline": pb.Offer_STATE_DECLINED}[name]
	did := offerStateWord(leaves)
	// Asked again after a timeout: on a slow disk the answer whose reply
	// was lost is made all the same, and staff who tried again were told
	// "Not declined: ... is declined already", their own answer read as a
	// failure. The second ask waits for that commit and is refused in the
	// state asked for, which is what was wanted.
	asked := 0
	o, err := askAgainAfterTimeout(a, "the offer is "+did, "", func(ctx context.Context) (*pb.Offer, error) {
		asked++
		return step(ctx, c.Matching, offer)
	})
	if state, noun, ok := wrongState(err); ok && noun == "offer" {
		if asked > 1 && state == did {
			if got, rerr := a.readOffer(offer); rerr == nil && got != nil {
				return a.printOffer(got, "")
			}
			if a.cfg.json {
				// Done, though the offer could not be read back: a script
				// still reads one object, with what the refusal said of it.
				return writeJSON(a.stdout, &pb.Offer{Name: offer, State: leaves})
			}
			fmt.Fprintf(a.stdout, "%s is %s.\n", offer, did)
			return nil
		}
		if name == "decline" && state == "accepted" {
			if held := a.acceptedMeanwhile(offer); held != nil {
				return held
			}
		}
		return stepRefused(did, offer, state, did)
	}
	if err != nil {
		return err
	}
	return a.printOffer(o, "")
}

// acceptedMeanwhile is what a worker declining offer for its volunteer is
// told when the volunteer accepted it first (in their app, or to another
// worker): the job is theirs now, and a decline cannot undo that; a
// hand-back does. Nil unless the request is still assigned to them.
func (a *app) acceptedMeanwhile(offer string) error {
	o, err := a.readOffer(offer)
	if err != nil || o == nil {
		return nil
	}
	c, err := a.client()
	if err != nil {
		return nil
	}
	got, err := c.HelpRequests.GetHelpRequest(a.ctx, &pb.GetHelpRequestRequest{Name: o.HelpRequest})
	if err != nil || got.HelpRequest.State != pb.HelpRequest_STATE_ASSIGNED || got.HelpRequest.AssignedVolunteer != o.Volunteer {
		return nil
	}
	who, _ := a.volunteerLabel(o.Volunteer, false)
	return &cliError{code: exitFailed, msg: fmt.Sprintf("Not declined: %s accepted %s already (in their app, or through another worker), so %s is assigned to them. "+
		"If they cannot go after all, hand it back: doorstep request release %s (%s).", who, offer, o.HelpRequest, idOf(o.HelpRequest), server.ReasonWrongState)}
}

// printOffer says what became of an offer, naming its volunteer when the
// token may read volunteers: staff ring people, not ids.
func (a *app) printOffer(o *pb.Offer, format string) error {
	if a.cfg.json {
		return writeJSON(a.stdout, o)
	}
	// Done already: a failure to read the name leaves the id, not an error.
	vol, _ := a.volunteerLabel(o.Volunteer, false)
	if format != "" {
		fmt.Fprintf(a.stdout, format, o.HelpRequest, vol, fmtTS(o.ExpireTime, a.now()), o.Name)
		return nil
	}
	fmt.Fprintf(a.stdout, "%s is %s: %s, %s.\n", o.Name, offerStateWord(o.State), o.HelpRequest, vol)
	return nil
}

// offerList lists offers by volunteer, request or state.
func (a *app) offerList(args []string) error {
	u := usage{
		synopsis: "doorstep offer list [--volunteer VOLUNTEER] [--request REQUEST] [--state pending]",
		text: `Lists offers, oldest first: a volunteer's (to find the one they rang to answer), a request's, or all in one
state. With --state pending alone, the answer due soonest comes first. A volunteer's token lists their own only.`,
		examples: []string{
			"doorstep offer list --volunteer 01jq3m7a1b2c3d4e5f6g7h8j9k --state pending   # then: doorstep offer accept OFFER",
			"doorstep offer list --state pending",
			"doorstep offer list --volunteer 01jq3m7a1b2c3d4e5f6g7h8j9k --live   # what they are asked or committed to now",
			"doorstep offer list --request helpRequests/01jq3m5x8v2k4c6e9g0h1j2k3m --json",
		},
	}
	cmd := a.begin("list", u)
	volunteer := cmd.fs.String("volunteer", "", "only offers to this volunteer (id or volunteers/ID)")
	request := cmd.fs.String("request", "", "only offers of this request (id or helpRequests/ID)")
	state := cmd.fs.String("state", "all", "pending, accepted, declined, expired, withdrawn or all")
	live := cmd.fs.Bool("live", false, "only offers in force: waiting for an answer, or accepted and not yet done or cancelled")
	limit := cmd.fs.Int("limit", 200, "at most this many")
	if _, err := cmd.exactly(args, 0); err != nil {
		return err
	}
	if *limit < 1 {
		return usageErrorf("--limit must be at least 1")
	}
	// One more than limit, to know whether there are more.
	req := &pb.ListOffersRequest{PageSize: int32(min(*limit+1, maxPageSize)), Live: *live}
	var err error
	if *volunteer != "" {
		if req.Volunteer, err = resourceName(*volunteer, "volunteers", "volunteer"); err != nil {
			return err
		}
	}
	if *request != "" {
		if req.HelpRequest, err = resourceName(*request, "helpRequests", "help request"); err != nil {
			return err
		}
	}
	if req.State, err = parseOfferState(*state); err != nil {
		return usageErrorf("--state: %v", err)
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	var offers []*pb.Offer
	more := false
	for o, err := range c.AllOffers(a.ctx, req) {
		if err != nil {
			return err
		}
		if len(offers) == *limit {
			more = true
			break
		}
		offers = append(offers, o)
	}
	none := "No offers"
	if req.State != pb.Offer_STATE_UNSPECIFIED {
		none = "No " + offerStateWord(req.State) + " offers"
	}
	if req.Live {
		none += " in force"
	}
	if req.HelpRequest != "" {
		none += " of " + req.HelpRequest
	}
	if req.Volunteer != "" {
		none += " to " + req.Volunteer
	}
	return printLimited(a, offers, more, none+".", "Offer", []string{"OFFER", "STATE", "REQUEST", "VOLUNTEER", "DISTANCE", "MADE BY", "ANSWER BY", "ENDED"}, func(o *pb.Offer) []string {
		// Only a pending offer still waits for an answer; for the others
		// the time would read as a deadline that no longer applies, and
		// when it ended is what staff taking over a shift ask.
		answerBy := "-"
		if o.State == pb.Offer_STATE_PENDING {
			answerBy = fmtTS(o.ExpireTime, a.now())
		}
		distance := "-" // the request or the volunteer is gone
		if o.DistanceMetres != nil {
			distance = fmtDistance(float64(*o.DistanceMetres))
		}
		state, ended := offerStateWords(o), fmtTS(o.DecideTime, a.now())
		if o.State == pb.Offer_STATE_ACCEPTED {
			// Accepting began the job, which the offer's state does not
			// follow: under ENDED the time read as the job over, and a
			// job still to do went unchased at a handover.
			state, ended = state+" "+ended, "-"
		}
		return []string{idOf(o.Name), state, idOf(o.HelpRequest), idOf(o.Volunteer), distance, madeByWord(o), answerBy, ended}
	})
}

// offerStateWords is an offer's state, and for one withdrawn why, as its
// withdraw_reason says ("withdrawn (paused)", "withdrawn (request
// ended)"): "withdrawn" alone leaves staff to guess whether to offer the
// request again, or to whom.
func offerStateWords(o *pb.Offer) string {
	switch {
	case o.State != pb.Offer_STATE_WITHDRAWN || o.WithdrawReason == "":
		return offerStateWord(o.State)
	case o.WithdrawReason == "PAUSED":
		// The rule covers a coordinator's hold too, which "paused" alone
		// would hide from whoever reads it beside "on hold".
		return offerStateWord(o.State) + " (paused or on hold)"
	}
	return offerStateWord(o.State) + " (" + lowerWords(o.WithdrawReason, "") + ")"
}

// madeByWord says whether the dispatcher made an offer or staff did, as
// the event stream does: what the dispatcher did is asked at a handover.
func madeByWord(o *pb.Offer) string {
	if o.Dispatched {
		return "dispatcher"
	}
	return "staff"
}

// volunteerComing is the volunteer named by a SAME_DOOR refusal, or "".
func volunteerComing(err error) string {
	var gs interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &gs) || gs.GRPCStatus().Code() != codes.FailedPrecondition {
		return ""
	}
	for _, d := range gs.GRPCStatus().Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.Reason == "SAME_DOOR" {
			return info.Metadata["volunteer_coming"]
		}
	}
	return ""
}

// wrongState is the state a WRONG_STATE refusal names and what it names
// it of ("offer" or "help request", as the server's sentence has it).
func wrongState(err error) (state, noun string, ok bool) {
	var gs interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &gs) || gs.GRPCStatus().Code() != codes.FailedPrecondition {
		return "", "", false
	}
	for _, d := range gs.GRPCStatus().Details() {
		if info, isInfo := d.(*errdetails.ErrorInfo); isInfo && info.Reason == "WRONG_STATE" && info.Metadata["state"] != "" {
			rest, _ := strings.CutPrefix(gs.GRPCStatus().Message(), "the ")
			noun, _, _ = strings.Cut(rest, " is ")
			return info.Metadata["state"], noun, true
		}
	}
	return "", "", false
}

// stepRefused says, in place of the API's "read it again", why a step
// cannot be taken: where the record stands ("Not cancelled: helpRequests/X
// is cancelled already"), and for a request not yet taken, what marking
// it done needs.
func stepRefused(did, name, state, done string) error {
	msg := fmt.Sprintf("Not %s: %s is %s", did, name, state)
	switch {
	case state == done:
		msg += " already"
	case done == "fulfilled" && state == "offered":
		msg += ", not yet accepted: only a request a volunteer has accepted can be marked done"
	case done == "fulfilled" && state == "open":
		msg += ": only a request a volunteer has accepted can be marked done"
	case did == "released" && state == "open":
		msg += ": nobody has it to hand back"
	case did == "released" && state == "offered":
		msg += ", not yet accepted: if the volunteer cannot take it, decline the offer (doorstep offer decline)"
	case did == "released" && (state == "fulfilled" || state == "cancelled" || state == "expired"):
		// Release is what opens a request again, so it is what staff try
		// after marking the wrong one done or cancelling it by mistake:
		// the way left is a new request.
		msg += fmt.Sprintf(": a closed request cannot be opened again. If the caller still needs help, take it again with doorstep request new "+
			"(doorstep request show %s has its details)", idOf(name))
	}
	return &cliError{code: exitFailed, msg: msg + " (WRONG_STATE)."}
}
