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
	for _, line := range uncovered(resp) {
		fmt.Fprintln(a.stdout, line)
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

// uncovered says what became of the requests a run left without an offer,
// by why: nobody could take them, others needed their volunteers, the
// volunteer going to their door then had no room, or they changed while
// the run was planned.
func uncovered(resp *pb.DispatchResponse) []string {
	if resp.Uncovered == 0 {
		return []string{"Every open request now has an offer."}
	}
	var out []string
	if n := int(resp.WithoutCandidates); n > 0 {
		out = append(out, fmt.Sprintf("%s open with nobody in reach free and able to take %s: more volunteers are needed there (doorstep request candidates says why).",
			stayOpen(n), plural(n, "it", "them")))
	}
	if n := int(resp.Outnumbered); n > 0 {
		// Only what is true of each request counted: its volunteers went
		// to others, more urgent or as urgent, which the reply does not
		// tell apart.
		out = append(out, fmt.Sprintf("%s open: the volunteers who could take %s were all given other requests in this run.",
			stayOpen(n), plural(n, "it", "them")))
	}
	if n := int(resp.SameDoor); n > 0 {
		out = append(out, fmt.Sprintf("%s open for the volunteer already going to %s door then, for another of %s requests, who has no room for %s: offer %s by hand, or add %s needs to that request.",
			stayOpen(n), plural(n, "its caller's", "their callers'"), plural(n, "that caller's", "their"), plural(n, "it", "them"), plural(n, "it", "them"), plural(n, "its", "their")))
	}
	if n := int(resp.Uncovered - resp.WithoutCandidates - resp.Outnumbered - resp.SameDoor); n > 0 {
		out = append(out, fmt.Sprintf("%s open until the next run: %s changed while this one was planned.",
			stayOpen(n), plural(n, "it or its volunteer", "they or their volunteers")))
	}
	return out
}

// stayOpen is "1 request stays" or "n requests stay".
func stayOpen(n int) string {
	return plural(n, "1 request stays", fmt.Sprintf("%d requests stay", n))
}

// plural picks one or many by n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
