package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func (a *app) watch(args []string) error {
	u := usage{
		synopsis: "doorstep watch [--from REV] [--type TYPES] [--org ORG]",
		text: `Prints every change to requests, offers and volunteers as it happens, one line per event, until Ctrl-C.
If the server cannot be reached at the start it stops (exit 4); once connected, it reconnects by itself
after a disconnect, saying so on stderr, and misses nothing. Each line starts with the revision; on
Ctrl-C, or when the server ends it, it says on stderr the --from that carries on where it stopped (past
what --type and --org hid, too), for whoever watches next. Events name records
but hold none of their contents: look one up with doorstep request show or volunteer show.`,
		examples: []string{
			"doorstep watch",
			"doorstep watch --type offer_created,offer_declined,offer_expired --org aberdeen-mutual-aid",
			"doorstep watch --from 1042 --json",
		},
	}
	cmd := a.begin("watch", u)
	from := cmd.fs.Int64("from", 0, "first revision to print; 0 starts from now")
	types := cmd.fs.String("type", "", "only these event types, e.g. help_request_created,offer_declined")
	org := cmd.fs.String("org", "", "only this organisation's events")
	if _, err := cmd.exactly(args, 0); err != nil {
		return err
	}
	if *from < 0 {
		return usageErrorf("--from must not be negative")
	}
	ts, err := parseEventTypes(*types)
	if err != nil {
		return usageErrorf("--type: %v", err)
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	opts := client.WatchOptions{StartRevision: *from, Types: ts, Organisation: strings.ToLower(strings.TrimSpace(*org)),
		GiveUpAfter: -1, MustConnect: true,
		OnConnection: func(err error) {
			if err != nil {
				fmt.Fprintln(a.stderr, "Lost the connection to the server: reconnecting…")
			} else {
				fmt.Fprintln(a.stderr, "Reconnected: no events were missed.")
			}
		}}
	// reached is the revision the stream has considered, which moves on
	// past changes --type and --org hide: a watch of a quiet filter prints
	// nothing all shift, and the next shift needs where it stopped.
	var reached int64
	err = c.Watch(a.ctx, opts, func(resp *pb.WatchEventsResponse) error {
		for _, e := range resp.Events {
			if err := a.printEvent(e); err != nil {
				return err
			}
		}
		reached = max(reached, resp.GetRevision())
		return nil
	})
	// Where to carry on from, on stderr, so that the lines (or the JSON)
	// stay events only.
	stopped := func() {
		if reached > 0 {
			same := ""
			if *types != "" || *org != "" {
				same = " with the same --type and --org"
			}
			fmt.Fprintf(a.stderr, "Stopped after revision %d: to carry on from here, doorstep watch --from %d%s.\n", reached, reached+1, same)
		}
	}
	if a.ctx.Err() != nil && errors.Is(err, a.ctx.Err()) {
		stopped() // Ctrl-C is how a watch ends
		return nil
	}
	var ce *client.CompactedError
	if !errors.As(err, &ce) {
		// Ended by the server (the shift's token revoked or run out) or
		// by the output: the next watch needs where this one reached as
		// much as after a Ctrl-C. A revision no longer kept has its own
		// words below.
		stopped()
	}
	if errors.As(err, &ce) && ce.From() > 0 {
		// The server's words are for apps ("reload with List calls, then
		// watch from N"); a person at a terminal needs the flag and the
		// number. Not the oldest revision kept: the server's sweep lets
		// it go within seconds on a busy server, before whoever looked
		// up what changed watches again with it. From is where the server
		// was when it answered, kept for the whole retention.
		why := fmt.Sprintf("The server no longer keeps the events from revision %d: it keeps them for its --event-retention, and a data file restored from a backup starts them again", ce.Requested)
		if ce.Ahead {
			why = fmt.Sprintf("The server has not reached revision %d: its data was restored from an older copy, and the revisions after its last will be given out again", ce.Requested)
		}
		return &cliError{code: exitUsage, msg: fmt.Sprintf("%s. Look up what changed meanwhile with doorstep request list or volunteer list, then watch again with --from %d, "+
			"which misses nothing changed since this message, or without --from for what happens from now on (%s).", why, ce.From(), orDefault(client.Reason(err), "EVENTS_COMPACTED"))}
	}
	return err
}

func (a *app) printEvent(e *pb.Event) error {
	if a.cfg.json {
		raw, err := jsonOpts.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode json: %w", err)
		}
		// One compact object per line, so that a script can read line by line.
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return fmt.Errorf("compact json: %w", err)
		}
		buf.WriteByte('\n')
		_, err = a.stdout.Write(buf.Bytes())
		return err
	}
	// Under --linear a line is a phrase to be spoken: no columns padded
	// with spaces, a change of state and the organisation in words, not
	// "->" and brackets, which a screen reader reads as symbols or skips.
	lin := a.cfg.linear
	parts := []string{fmt.Sprintf("%-6d", e.Revision), fmtTimeSeconds(e.GetTime().AsTime(), a.now()),
		fmt.Sprintf("%-26s", enumWords(e.Type, "TYPE_"))}
	if lin {
		parts = []string{fmt.Sprintf("Revision %d", e.Revision), fmtTimeSeconds(e.GetTime().AsTime(), a.now()), enumWords(e.Type, "TYPE_")}
	}
	for _, name := range []string{e.HelpRequest, e.Volunteer, e.Offer} {
		if name != "" {
			parts = append(parts, name)
		}
	}
	switch {
	case e.Type == pb.Event_TYPE_HELP_REQUEST_STATE_CHANGED && lin:
		parts = append(parts, "from "+stateWord(e.PreviousState)+" to "+stateWord(e.State))
	case e.Type == pb.Event_TYPE_HELP_REQUEST_STATE_CHANGED:
		parts = append(parts, stateWord(e.PreviousState)+" -> "+stateWord(e.State))
	case e.State != pb.HelpRequest_STATE_UNSPECIFIED:
		parts = append(parts, "now "+stateWord(e.State))
	}
	if e.Dispatched {
		// Whose offer it is, on each of its events: "(dispatcher)" beside
		// "offer accepted" read as if the dispatcher had accepted it.
		parts = append(parts, "(dispatcher's offer)")
	}
	switch {
	case lin && e.VolunteerOrganisation != "" && e.VolunteerOrganisation != e.Organisation:
		parts = append(parts, "organisation "+e.Organisation+", volunteer of "+e.VolunteerOrganisation)
	case lin && e.Organisation != "":
		parts = append(parts, "organisation "+e.Organisation)
	case e.VolunteerOrganisation != "" && e.VolunteerOrganisation != e.Organisation:
		// Why a line of another group's request shows in a watch of
		// --org: it is that group's request, and this group's volunteer.
		parts = append(parts, "["+e.Organisation+"; volunteer of "+e.VolunteerOrganisation+"]")
	case e.Organisation != "":
		parts = append(parts, "["+e.Organisation+"]")
	}
	sep := "  "
	if lin {
		sep = ", "
	}
	_, err := fmt.Fprintln(a.stdout, strings.Join(parts, sep))
	return err
}
