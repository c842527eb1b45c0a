package main

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func (a *app) offerMake(args []string) error {
	u := usage{
		synopsis: "doorstep offer make REQUEST VOLUNTEER",
		text:     "Offers an open request to one volunteer (pick one from doorstep request candidates). The request is held\nfor them until they accept or decline, or the lease runs out.",
		examples: []string{"doorstep offer make 01jq3m5x8v2k4c6e9g0h1j2k3m 01jq3m7a1b2c3d4e5f6g7h8j9k", "doorstep offer make helpRequests/01jq... volunteers/01jq... --lease 2h"},
	}
	cmd := a.begin("make", u)
	lease := cmd.fs.Duration("lease", 0, "how long the volunteer has to answer, 1m to 168h (the server's default, 30m, when not given)")
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
	req := &pb.CreateOfferRequest{HelpRequest: hr, Volunteer: vol}
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
	resp, err := c.Matching.CreateOffer(a.ctx, req)
	if err != nil {
		return err
	}
	return a.printOffer(resp.Offer, "Offered %s to %s until %s: %s.\n")
}

func (a *app) offerAccept(args []string) error {
	return a.offerStep(args, usage{
		synopsis: "doorstep offer accept OFFER",
		text:     "The volunteer said yes: the request is assigned to them.",
		examples: []string{"doorstep offer accept 01jq3m9z8y7x6w5v4t3s2r1q0p"},
	}, "accept", func(c pbMatching, name string) (*pb.Offer, error) {
		r, err := c.AcceptOffer(a.ctx, &pb.AcceptOfferRequest{Name: name})
		return r.GetOffer(), err
	})
}

func (a *app) offerDecline(args []string) error {
	return a.offerStep(args, usage{
		synopsis: "doorstep offer decline OFFER",
		text:     "The volunteer said no: the request is open again and is never offered to them again.",
		examples: []string{"doorstep offer decline 01jq3m9z8y7x6w5v4t3s2r1q0p"},
	}, "decline", func(c pbMatching, name string) (*pb.Offer, error) {
		r, err := c.DeclineOffer(a.ctx, &pb.DeclineOfferRequest{Name: name})
		return r.GetOffer(), err
	})
}

func (a *app) offerStep(args []string, u usage, name string, step func(pbMatching, string) (*pb.Offer, error)) error {
	offer, c, err := a.begin(name, u).connectTo(args, "offers", "offer")
	if err != nil {
		return err
	}
	o, err := step(c.Matching, offer)
	if err != nil {
		return err
	}
	return a.printOffer(o, "")
}

func (a *app) printOffer(o *pb.Offer, format string) error {
	if a.cfg.json {
		return writeJSON(a.stdout, o)
	}
	if format != "" {
		fmt.Fprintf(a.stdout, format, o.HelpRequest, o.Volunteer, fmtTS(o.ExpireTime, a.now()), o.Name)
		return nil
	}
	fmt.Fprintf(a.stdout, "%s is %s: %s, %s.\n", o.Name, offerStateWord(o.State), o.HelpRequest, o.Volunteer)
	return nil
}
