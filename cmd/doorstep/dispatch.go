package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// dispatchNow runs the dispatcher once; (*app).dispatch is the command
// router, hence the name.
func (a *app) dispatchNow(args []string) error {
	u := usage{
		synopsis: "doorstep dispatch",
		text: `Offers every open request to a volunteer now, the most urgent first, covering as many as it can at the
least total distance: what the server does by itself when started with --dispatch-every. Each offer waits
for the volunteer's answer as one made by hand does (see doorstep offer list --state pending).
Needs an admin or coordinator token.`,
		examples: []string{"doorstep dispatch", "doorstep dispatch --json"},
	}
	c, err := a.begin("dispatch", u).connect(args)
	if err != nil {
		return err
	}
	resp, err := c.Matching.Dispatch(a.ctx, &pb.DispatchRequest{})
	if err != nil {
		return err
	}
	if a.cfg.json {
		return writeJSON(a.stdout, resp)
	}
	took := "under 1ms"
	if d := resp.GetTook().AsDuration(); d >= time.Millisecond {
		took = d.Round(time.Millisecond).String()
	}
	if resp.OpenRequests == 0 {
		fmt.Fprintf(a.stdout, "No requests are open: nothing to offer. Took %s.\n", took)
		return nil
	}
	fmt.Fprintf(a.stdout, "Made %s for %s", count(int(resp.OffersMade), "offer"), count(int(resp.OpenRequests), "open request"))
	if by := urgencyCounts(resp.OffersByUrgency); by != "" {
		fmt.Fprintf(a.stdout, ": %s", by)
	}
	fmt.Fprintln(a.stdout, ".")
	switch resp.Uncovered {
	case 0:
		fmt.Fprintln(a.stdout, "Every open request now has an offer.")
	case 1:
		fmt.Fprintln(a.stdout, "1 request has no eligible volunteer free and stays open.")
	default:
		fmt.Fprintf(a.stdout, "%d requests have no eligible volunteer free and stay open.\n", resp.Uncovered)
	}
	if resp.OffersMade > 0 {
		fmt.Fprintf(a.stdout, "Total score %.0f (metres to travel, less bonuses; lower is better). ", resp.TotalScore)
	}
	fmt.Fprintf(a.stdout, "Took %s.\n", took)
	return nil
}

// urgencyCounts says "1 critical, 2 high": most urgent first, since that
// is the order dispatch serves them in.
func urgencyCounts(byUrgency map[string]int32) string {
	keys := sortedKeys(byUrgency)
	sort.SliceStable(keys, func(i, j int) bool { return pb.Urgency_value[keys[i]] > pb.Urgency_value[keys[j]] })
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%d %s", byUrgency[k], lowerWords(k, "URGENCY_")))
	}
	return strings.Join(out, ", ")
}
