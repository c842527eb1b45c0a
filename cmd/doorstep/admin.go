package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/client"
	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// maxExportBytes bounds the answer of an export, which holds the person's
// whole audit trail (some 250 bytes a record).
const maxExportBytes = 256 << 20

// roleNames are the roles as people type them, in the order the help
// lists them.
var roleNames = []string{"helpline", "coordinator", "partner", "volunteer", "admin"}

func parseRole(s string) (pb.Role, error) {
	w := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "role_")
	if v, ok := pb.Role_value["ROLE_"+strings.ToUpper(w)]; ok && v != 0 {
		return pb.Role(v), nil
	}
	return 0, fmt.Errorf("%q is not a role: %s", s, strings.Join(roleNames, ", "))
}

func roleWord(r pb.Role) string { return enumWords(r, "ROLE_") }

// parseExpiry reads when a token stops working: a length of time from now
// ("720h", "30d", "2 weeks") or the last day it works (2027-01-31, UK
// time), which is what people mean by "valid until".
func parseExpiry(s string, now time.Time) (time.Time, error) {
	raw := strings.TrimSpace(s)
	s = strings.ToLower(raw)
	var at time.Time
	if d, err := time.Parse("2006-01-02", s); err == nil {
		at = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, london)
	} else if t, err := time.Parse(time.RFC3339, strings.ToUpper(s)); err == nil {
		at = t
	} else if d, err := parseSpan(s); err == nil {
		at = now.Add(d)
	} else if d, err := time.ParseDuration(s); err == nil {
		at = now.Add(d)
	} else {
		return time.Time{}, fmt.Errorf("%q is neither a length of time such as 720h or 30d nor a date such as 2027-01-31", raw)
	}
	if !at.After(now) {
		return time.Time{}, fmt.Errorf("%s has already passed", raw)
	}
	return at, nil
}

func (a *app) adminTokenCreate(args []string) error {
	u := usage{
		synopsis: "doorstep admin token create --role ROLE --name NAME [--org ORG] [--volunteer ID] [--expires WHEN]",
		text: `Issues a bearer token and prints its secret. The secret is shown this once and never again (only a
hash of it is kept): give it to its holder at once, by a safe route. Roles: helpline and coordinator
(every request and volunteer), partner (one organisation's requests; needs --org, registered first with
doorstep admin org create), volunteer (their own record and offers; needs --volunteer) and admin.
--expires is a length of time from now (720h, 30d) or the last day the token works (2027-01-31).`,
		examples: []string{
			"doorstep admin token create --role helpline --name 'Helpline desk 3' --expires 2027-01-31",
			"doorstep admin token create --role partner --name 'Granite City Food Bank import' --org granite-city-food-bank --expires 30d",
			"doorstep admin token create --role volunteer --name 'Callum Reid' --volunteer 01jq3m7a1b2c3d4e5f6g7h8j9k --json",
		},
	}
	cmd := a.begin("create", u)
	fs := cmd.fs
	role := fs.String("role", "", "helpline, coordinator, partner, volunteer or admin")
	name := fs.String("name", "", "who or what holds the token, e.g. \"Helpline desk 3\"")
	org := fs.String("org", "", "the organisation a partner token acts for")
	vol := fs.String("volunteer", "", "the volunteer a volunteer token belongs to (ID or volunteers/ID)")
	expires := fs.String("expires", "", "when it stops working: 720h, 30d or the last day, 2027-01-31 (never when not given)")
	if err := cmd.optionsOnly(args, "--name"); err != nil {
		return err
	}
	var missing, bad []string
	if strings.TrimSpace(*role) == "" {
		missing = append(missing, "--role")
	}
	if strings.TrimSpace(*name) == "" {
		missing = append(missing, "--name")
	}
	if len(missing) > 0 {
		return usageErrorf("missing %s; see doorstep admin token create --help", strings.Join(missing, ", "))
	}
	tok := &pb.Token{DisplayName: strings.TrimSpace(*name)}
	var err error
	tok.Role, err = parseRole(*role)
	roleKnown := err == nil
	if !roleKnown {
		bad = append(bad, "--role: "+err.Error())
	}
	slug := orgSlug(*org)
	switch {
	case tok.Role == pb.Role_ROLE_PARTNER && slug == "":
		bad = append(bad, "a partner token needs --org, the organisation it acts for")
	case tok.Role == pb.Role_ROLE_PARTNER:
		tok.Organisation = slug
	case slug != "" && roleKnown:
		bad = append(bad, "--org is only for partner tokens")
	}
	switch {
	case tok.Role == pb.Role_ROLE_VOLUNTEER && strings.TrimSpace(*vol) == "":
		bad = append(bad, "a volunteer token needs --volunteer, the volunteer it belongs to")
	case tok.Role == pb.Role_ROLE_VOLUNTEER:
		volName, err := resourceName(*vol, "volunteers", "volunteer")
		if err != nil {
			bad = append(bad, "--volunteer: "+strings.TrimSuffix(err.Error(), "."))
		}
		tok.Volunteer = volName
	case strings.TrimSpace(*vol) != "" && roleKnown:
		bad = append(bad, "--volunteer is only for volunteer tokens")
	}
	if *expires != "" {
		at, err := parseExpiry(*expires, a.now())
		if err != nil {
			bad = append(bad, "--expires: "+err.Error())
		}
		tok.ExpireTime = timestamppb.New(at)
	}
	if len(bad) > 0 {
		return usageErrorf("%s", strings.Join(bad, "; "))
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	resp, err := c.Admin.CreateToken(a.ctx, &pb.CreateTokenRequest{Token: tok})
	// The token may have been made, its secret lost with the answer: one
	// made again leaves that one live, which nobody can use but which
	// still counts, and still names the person.
	if lost := a.answerLost(err, "The token may have been made all the same, with its secret lost: "+
		"doorstep admin token list shows it; revoke it (doorstep admin token revoke) before making another."); lost != nil {
		return lost
	}
	if err != nil {
		return err
	}
	if a.cfg.json {
		return writeJSON(a.stdout, resp)
	}
	t := resp.Token
	fmt.Fprintf(a.stdout, "Created %s for %q: %s, %s.\n", t.Name, t.DisplayName, tokenScope(t), expiryWords(t, a.now()))
	fmt.Fprintf(a.stdout, "Secret: %s\n", resp.Secret)
	fmt.Fprintln(a.stdout, "This secret will not be shown again: give it to its holder now, by a safe route. If it is lost, revoke the token and create another.")
	return nil
}

// tokenScope says what a token may reach: its role and, for partners and
// volunteers, whose records.
func tokenScope(t *pb.Token) string {
	switch {
	case t.Organisation != "":
		return roleWord(t.Role) + " for " + t.Organisation
	case t.Volunteer != "":
		return roleWord(t.Role) + " for " + t.Volunteer
	}
	return roleWord(t.Role)
}

func expiryWords(t *pb.Token, now time.Time) string {
	switch {
	case t.ExpireTime == nil:
		return "never expires"
	case !t.ExpireTime.AsTime().After(now):
		return "expired " + fmtTS(t.ExpireTime, now)
	}
	return "expires " + fmtTS(t.ExpireTime, now)
}

func (a *app) adminTokenList(args []string) error {
	u := usage{
		synopsis: "doorstep admin token list",
		text:     "Lists every token, oldest first: who holds it, its role, whose records it reaches, and when it was created,\nexpires and was revoked. Secrets are never shown: they are not kept.",
		examples: []string{"doorstep admin token list", "doorstep admin token list --json"},
	}
	c, err := a.begin("list", u).connect(args)
	if err != nil {
		return err
	}
	toks, _, err := readPages(math.MaxInt, func(size int32, token string) ([]*pb.Token, string, error) {
		resp, err := c.Admin.ListTokens(a.ctx, &pb.ListTokensRequest{PageSize: size, PageToken: token})
		return resp.GetTokens(), resp.GetNextPageToken(), err
	})
	if err != nil {
		return err
	}
	now := a.now()
	return printList(a, toks, "No tokens.", "Token", []string{"TOKEN", "HOLDER", "ROLE", "FOR", "CREATED", "EXPIRES", "REVOKED"}, func(tok *pb.Token) []string {
		expires := "never"
		if tok.ExpireTime != nil {
			expires = fmtTS(tok.ExpireTime, now)
			if !tok.ExpireTime.AsTime().After(now) {
				expires += " (expired)"
			}
		}
		return []string{tok.Name, tok.DisplayName, roleWord(tok.Role), orDash(tok.Organisation + tok.Volunteer), fmtTS(tok.CreateTime, now), expires, fmtTS(tok.RevokeTime, now)}
	})
}

func (a *app) adminTokenRevoke(args []string) error {
	u := usage{
		synopsis: "doorstep admin token revoke TOKEN",
		text:     "Revokes a token at once: every call with it is refused from now on. It cannot be undone; issue a new token instead.",
		examples: []string{"doorstep admin token revoke tokens/01jq3m5x8v2k4c6e9g0h1j2k3m", "doorstep admin token revoke 01jq3m5x8v2k4c6e9g0h1j2k3m"},
	}
	name, c, err := a.begin("revoke", u).connectTo(args, "tokens", "token")
	if err != nil {
		return err
	}
	resp, err := c.Admin.RevokeToken(a.ctx, &pb.RevokeTokenRequest{Name: name})
	if client.Reason(err) == server.ReasonLastAdminToken {
		return &cliError{code: exitFailed, msg: fmt.Sprintf("%s is the last admin token that works: create another admin token first, then revoke this one (%s).",
			name, server.ReasonLastAdminToken)}
	}
	if statusCode(err) == codes.FailedPrecondition {
		// Revoking is the only change a token has, so the wrong state
		// can only mean this.
		return &cliError{code: exitFailed, msg: fmt.Sprintf("%s was already revoked (%s).", name, orDefault(client.Reason(err), "WRONG_STATE"))}
	}
	if err != nil {
		return err
	}
	if a.cfg.json {
		return writeJSON(a.stdout, resp.Token)
	}
	fmt.Fprintf(a.stdout, "Revoked %s (%s, %s): every call with it is refused from now on.\n", resp.Token.Name, resp.Token.DisplayName, tokenScope(resp.Token))
	return nil
}

// statusCode is the gRPC code of an error the client package may have
// wrapped; codes.OK for nil.
func statusCode(err error) codes.Code {
	var gs interface{ GRPCStatus() *status.Status }
	if errors.As(err, &gs) {
		return gs.GRPCStatus().Code()
	}
	if err == nil {
		return codes.OK
	}
	return codes.Unknown
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// orgSlug reads an organisation as people paste it: "granite-city" or
// "organisations/granite-city".
func orgSlug(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.TrimSpace(strings.TrimPrefix(s, "organisations/"))
}

func (a *app) adminOrgCreate(args []string) error {
	u := usage{
		synopsis: "doorstep admin org create SLUG --name NAME",
		text: `Registers an organisation, so that partner tokens can be issued for it. The slug is what --org takes
everywhere: 2 to 63 lower-case letters, digits and hyphens, starting with a letter.`,
		examples: []string{"doorstep admin org create granite-city-food-bank --name 'Granite City Food Bank'"},
	}
	cmd := a.begin("create", u)
	display := cmd.fs.String("name", "", "its name for people, e.g. \"Granite City Food Bank\"")
	pos, err := cmd.exactly(args, 1)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*display) == "" {
		return usageErrorf("missing --name; see doorstep admin org create --help")
	}
	slug := orgSlug(pos[0])
	if !orgPattern(slug) { // checked here so that the sentence can say what a slug is
		return usageErrorf("%q is not a slug: 2 to 63 lower-case letters, digits and hyphens, starting with a letter, such as granite-city-food-bank", pos[0])
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	resp, err := c.Admin.CreateOrganisation(a.ctx, &pb.CreateOrganisationRequest{Organisation: &pb.Organisation{
		Name: "organisations/" + slug, DisplayName: strings.TrimSpace(*display)}})
	if statusCode(err) == codes.AlreadyExists {
		return &cliError{code: exitFailed, msg: fmt.Sprintf("The organisation %s is already registered: see doorstep admin org list (%s).", slug, orDefault(client.Reason(err), "ALREADY_EXISTS"))}
	}
	if err != nil {
		return err
	}
	if a.cfg.json {
		return writeJSON(a.stdout, resp.Organisation)
	}
	fmt.Fprintf(a.stdout, "Registered %s: %s. Partner tokens for it take --org %s.\n", resp.Organisation.Name, resp.Organisation.DisplayName, idOf(resp.Organisation.Name))
	return nil
}

func (a *app) adminOrgList(args []string) error {
	u := usage{
		synopsis: "doorstep admin org list",
		text:     "Lists the registered organisations in name order, with the slug that --org takes.",
		examples: []string{"doorstep admin org list", "doorstep admin org list --json"},
	}
	c, err := a.begin("list", u).connect(args)
	if err != nil {
		return err
	}
	orgs, _, err := readPages(math.MaxInt, func(size int32, token string) ([]*pb.Organisation, string, error) {
		resp, err := c.Admin.ListOrganisations(a.ctx, &pb.ListOrganisationsRequest{PageSize: size, PageToken: token})
		return resp.GetOrganisations(), resp.GetNextPageToken(), err
	})
	if err != nil {
		return err
	}
	return printList(a, orgs, "No organisations are registered.", "Organisation", []string{"SLUG", "NAME", "REGISTERED"}, func(o *pb.Organisation) []string {
		return []string{idOf(o.Name), o.DisplayName, fmtTS(o.CreateTime, a.now())}
	})
}

// auditActions are the actions AuditRecord.action documents. A filter
// with any other word could only ever match nothing, which on an audit
// reads as "nobody did it".
var auditActions = server.AuditActions()

func (a *app) adminAudit(args []string) error {
	u := usage{
		synopsis: "doorstep admin audit [--actor TOKEN] [--resource RECORD] [--action ACTION] [--since WHEN] [--until WHEN] [--limit N]",
		text: `Reads the audit log, newest first, times in UK time: who read or changed personal data, of which record,
which fields (never their values) and by which call, who took each step of a request for a volunteer (offered it,
by hand or by a dispatch run, accepted or declined an offer, marked it done, handed it back, cancelled it),
and who made or revoked each token. Filters combine.
The actor is tokens/ID or system (the server's own work); the record is helpRequests/ID, volunteers/ID, tokens/ID or phone
(exports and erasures by phone number). An offer's steps are on its request's trail.
--since and --until narrow it to a time, in UK time, looking back: "fri" is the Friday gone, "20 nov" the one gone and "14:00" the one gone;
--since is from that moment on, --until up to it (not at it); a day alone is from its start, or up to its end,
so --since '20 nov' --until '20 nov' is that whole day.
Actions: ` + strings.Join(auditActions, ", ") + `.`,
		examples: []string{
			"doorstep admin audit",
			"doorstep admin audit --resource helpRequests/01jq3m5x8v2k4c6e9g0h1j2k3m",
			"doorstep admin audit --actor tokens/01jq3m5x8v2k4c6e9g0h1j2k3m --action read_contact --limit 500",
			"doorstep admin audit --resource helpRequests/01jq3m5x8v2k4c6e9g0h1j2k3m --since 'yesterday 14:00' --until 'yesterday 16:00'",
			"doorstep admin audit --since '20 nov' --until '20 nov'",
		},
	}
	cmd := a.begin("audit", u)
	fs := cmd.fs
	actor := fs.String("actor", "", "only what this token did: tokens/ID, or system")
	resource := fs.String("resource", "", "only what was done to this record: helpRequests/ID, volunteers/ID, tokens/ID or phone")
	action := fs.String("action", "", "only this action, e.g. read_contact or erase")
	since := fs.String("since", "", `only what was done at or after this time, UK time: "yesterday 14:00", "fri 9am", "20 nov", "3 hours ago"`)
	until := fs.String("until", "", `only what was done before this time, UK time; a day alone is up to its end`)
	limit := fs.Int("limit", 100, "at most this many records, newest first")
	if _, err := cmd.exactly(args, 0); err != nil {
		return err
	}
	if *limit < 1 {
		return usageErrorf("--limit must be at least 1")
	}
	req := &pb.ListAuditRecordsRequest{}
	var err error
	var from, to time.Time
	if strings.TrimSpace(*since) != "" {
		if from, err = parseAuditTime("--since", *since, a.now(), false); err != nil {
			return usageErrorf("%s", err)
		}
		// Nothing is logged after a time still to come: a slip (the year,
		// "tomorrow"), said so rather than "No audit records match", which
		// reads as nothing having been done.
		if from.After(a.now()) {
			return usageErrorf("--since (%s) is still to come: nothing is logged after it yet", auditTime(from))
		}
		req.StartTime = timestamppb.New(from)
	}
	if strings.TrimSpace(*until) != "" {
		if to, err = parseAuditTime("--until", *until, a.now(), true); err != nil {
			return usageErrorf("%s", err)
		}
		req.EndTime = timestamppb.New(to)
	}
	// Said back in the words read, so that a day read otherwise than
	// meant ("fri" as last week's) is plain.
	if req.StartTime != nil && req.EndTime != nil && !to.After(from) {
		return usageErrorf("--until (%s) is not after --since (%s): nothing is between them", auditTime(to), auditTime(from))
	}
	if s := strings.TrimSpace(*actor); strings.EqualFold(s, "system") {
		req.Actor = "system"
	} else if s != "" {
		if req.Actor, err = resourceName(s, "tokens", "token"); err != nil {
			return usageErrorf("--actor: %s", strings.TrimSuffix(err.Error(), "."))
		}
	}
	if req.Resource, err = auditResource(*resource); err != nil {
		return err
	}
	if s := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(strings.TrimSpace(*action))); s != "" {
		if !slices.Contains(auditActions, s) {
			return usageErrorf("--action: %q is not an action: %s", *action, strings.Join(auditActions, ", "))
		}
		req.Action = s
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	if strings.HasPrefix(req.Resource, "offers/") {
		// An offer has no trail of its own: who made it and who answered
		// it are steps of its request's life, on the request's trail. The
		// id is what staff hold (volunteer show, the event stream), so the
		// request is looked up for them.
		o, err := c.Matching.GetOffer(a.ctx, &pb.GetOfferRequest{Name: req.Resource})
		if err != nil {
			return err
		}
		return usageErrorf("--resource: %s is an offer: who made it (action offer) and who answered it are on its request's trail: doorstep admin audit --resource %s",
			req.Resource, o.GetOffer().GetHelpRequest())
	}
	// One more than limit, as the other lists read: a token to go on
	// says only that the log goes on, not that more of it matches.
	recs, _, err := readPages(min(*limit, math.MaxInt-1)+1, func(size int32, token string) ([]*pb.AuditRecord, string, error) {
		req.PageSize, req.PageToken = size, token
		resp, err := c.Admin.ListAuditRecords(a.ctx, req)
		return resp.GetAuditRecords(), resp.GetNextPageToken(), err
	})
	if err != nil {
		return err
	}
	more := len(recs) > *limit
	if more {
		recs = recs[:*limit]
	}
	if a.cfg.json {
		if err := writeJSONList(a.stdout, recs); err != nil {
			return err
		}
		if more {
			// On stderr, as printLimited says it, so that the JSON stays
			// whole: a script saving the log must know it was cut short.
			fmt.Fprintf(a.stderr, "The newest %d are shown; there are more: give a larger --limit.\n", len(recs))
		}
		return nil
	}
	if len(recs) == 0 {
		fmt.Fprintln(a.stdout, "No audit records match.")
		return nil
	}
	t := a.newList(a.stdout, "Record")
	t.row("TIME", "ACTOR", "ROLE", "ACTION", "RESOURCE", "FIELDS", "METHOD")
	for _, r := range recs {
		role := roleWord(r.Role)
		if r.Role == pb.Role_ROLE_UNSPECIFIED {
			role = "-"
		}
		if r.Organisation != "" {
			role += " (" + r.Organisation + ")"
		}
		t.row(auditTime(r.GetTime().AsTime()), r.Actor, role, r.Action, orDash(r.Resource),
			orDash(strings.Join(r.Fields, ",")), orDash(methodWords(r.Method)))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if more {
		fmt.Fprintf(a.stdout, "The newest %d are shown; there are more: give a larger --limit.\n", len(recs))
	}
	return nil
}

// auditResource reads --resource in the forms ids are pasted in.
func auditResource(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if strings.EqualFold(s, "phone") {
		return "phone", nil
	}
	coll, _, ok := strings.Cut(s, "/")
	for _, c := range []struct{ collection, what string }{{"helpRequests", "help request"}, {"volunteers", "volunteer"}, {"offers", "offer"}, {"tokens", "token"}} {
		if ok && strings.EqualFold(coll, c.collection) {
			name, err := resourceName(s, c.collection, c.what)
			if err != nil {
				return "", usageErrorf("--resource: %s", strings.TrimSuffix(err.Error(), "."))
			}
			return name, nil
		}
	}
	if number, err := phone.Normalise(s); err == nil {
		// What an admin holds when someone asks who saw their data; the
		// audit names records, and export gathers them by number.
		return "", usageErrorf("--resource: %s is a phone number, not a record: doorstep admin export --phone '%s' shows who read "+
			"or changed that person's records, and --resource phone lists exports and erasures by number", phoneWords(number), phoneWords(number))
	}
	return "", usageErrorf("--resource: %q is not a record: give helpRequests/ID, volunteers/ID, tokens/ID or phone", s)
}

// methodWords shortens "/doorstep.v1.HelpRequestService/GetHelpRequest"
// to "HelpRequestService.GetHelpRequest" for a narrower table.
func methodWords(m string) string {
	m = strings.TrimPrefix(m, "/")
	m = strings.TrimPrefix(m, "doorstep.v1.")
	return strings.Replace(m, "/", ".", 1)
}

// personPhone reads the phone number that names a person, split over
// several arguments when typed without quotes. whose names the number in
// the sentence asking for it, which differs by command.
func personPhone(flagValue string, pos []string, synopsis, whose string) (string, error) {
	number := joinArgs(flagValue, pos)
	if number == "" {
		return "", usageErrorf("give %s: %s", whose, synopsis)
	}
	if _, err := phone.Normalise(number); errors.Is(err, phone.ErrRelay) {
		// Records hold the number without it: give it so, as they do.
		return "", usageErrorf("%q starts with a Relay UK prefix, which no record holds: give the number without it", number)
	} else if err != nil {
		return "", usageErrorf("%q is not a phone number: give a UK number such as 01224 123456 or 07700 900123, or an international one starting with +", number)
	}
	return number, nil
}

func (a *app) adminExport(args []string) error {
	u := usage{
		synopsis: "doorstep admin export --phone NUMBER",
		text: `Prints everything held about the person with this phone number, for a subject access request: the
requests they made with their contact details, their volunteer records, the offers of both, the tokens
that act as their volunteer records, and who read or changed those records and when. A number a
household shares holds everyone its records name, and the export says whom. Records are found by
the number they hold now, and a number changed since is kept nowhere: ask the person for every number
they have used, and export each. The export is recorded in the audit log. The text is for reading;
--json gives every field held (coordinates and commitments too) as protobuf JSON, to send on.`,
		examples: []string{"doorstep admin export --phone 07700 900123", "doorstep admin export --phone '+44 1224 123456' --json > export.json"},
	}
	cmd := a.begin("export", u)
	phone := cmd.fs.String("phone", "", "the person's phone number, in any usual form")
	pos, err := cmd.parse(args)
	if err != nil {
		return err
	}
	number, err := personPhone(*phone, pos, u.synopsis, "the person's phone number")
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	// The export carries the person's whole audit trail, which for a
	// volunteer of some years (every list of volunteers opened reads each)
	// is tens of thousands of records, far past gRPC's default 4 MB.
	resp, err := c.Admin.ExportPersonalData(a.ctx, &pb.ExportPersonalDataRequest{Phone: number}, grpc.MaxCallRecvMsgSize(maxExportBytes))
	if err != nil {
		return err
	}
	if a.cfg.json {
		return writeJSON(a.stdout, resp)
	}
	if len(resp.HelpRequests)+len(resp.Volunteers)+len(resp.Offers) == 0 {
		fmt.Fprintf(a.stdout, "Nothing is held about %s.\n", number)
		return nil
	}
	fmt.Fprintf(a.stdout, "Held about %s: %s, %s, %s.\n", number, count(len(resp.HelpRequests), "request"),
		count(len(resp.Volunteers), "volunteer record"), count(len(resp.Offers), "offer"))
	if names := namedBy(resp.HelpRequests, resp.Volunteers); len(names) > 1 {
		fmt.Fprintf(a.stdout, "Its records name %d people, who share this number: %s. Give each of them only their own.\n", len(names), andWords(names))
	}
	for _, hr := range resp.HelpRequests {
		fmt.Fprintln(a.stdout)
		if err := a.printRequest(a.stdout, hr, nil, ""); err != nil {
			return err
		}
		if hr.PersonalDataRemovedTime != nil {
			fmt.Fprintf(a.stdout, "Personal data removed %s.\n", fmtTS(hr.PersonalDataRemovedTime, a.now()))
		}
	}
	for _, v := range resp.Volunteers {
		fmt.Fprintln(a.stdout)
		if err := a.printVolunteer(v); err != nil {
			return err
		}
	}
	if len(resp.Offers) > 0 {
		fmt.Fprintln(a.stdout)
		t := a.newList(a.stdout, "Offer")
		t.row("OFFER", "REQUEST", "VOLUNTEER", "STATE", "MADE", "ANSWERED")
		for _, o := range resp.Offers {
			t.row(o.Name, o.HelpRequest, o.Volunteer, offerStateWord(o.State), fmtTS(o.CreateTime, a.now()), fmtTS(o.DecideTime, a.now()))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(resp.Tokens) > 0 {
		fmt.Fprintln(a.stdout)
		t := a.newList(a.stdout, "Token")
		t.row("TOKEN", "HOLDER", "FOR", "CREATED", "REVOKED")
		for _, tok := range resp.Tokens {
			t.row(tok.Name, tok.DisplayName, tok.Volunteer, fmtTS(tok.CreateTime, a.now()), fmtTS(tok.RevokeTime, a.now()))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(resp.AuditRecords) > 0 {
		fmt.Fprintf(a.stdout, "\nWho read or changed these records, newest first:\n")
		t := a.newList(a.stdout, "Record")
		t.row("TIME", "ACTOR", "ROLE", "ACTION", "RECORD", "FIELDS")
		for _, r := range resp.AuditRecords {
			role := roleWord(r.Role)
			if r.Role == pb.Role_ROLE_UNSPECIFIED {
				role = "-"
			}
			if r.Organisation != "" {
				role += " (" + r.Organisation + ")"
			}
			t.row(auditTime(r.GetTime().AsTime()), r.Actor, role, r.Action, orDash(r.Resource), orDash(strings.Join(r.Fields, ",")))
		}
		return t.flush()
	}
	return nil
}

// count says "1 request", "2 requests" or "no requests".
// countAtLeast is count, or "more than" it when more were not read.
func countAtLeast(n int, more bool, noun string) string {
	if more {
		return "more than " + count(n, noun)
	}
	return count(n, noun)
}

func count(n int, noun string) string {
	switch n {
	case 0:
		return "no " + noun + "s"
	case 1:
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// eraseTimeout is how long doorstep admin erase waits for its answer
// unless --timeout says otherwise (see adminErase).
var eraseTimeout = 10 * time.Minute

func (a *app) adminErase(args []string) error {
	u := usage{
		synopsis: "doorstep admin erase --phone NUMBER [--yes]",
		text: `Erases the personal data of the person with this phone number, for an erasure request: the name, phone,
details and address of every request they made (the rest of each request stays, for statistics; an open
one is cancelled) and their volunteer records. It cannot be undone. On a terminal it asks you to type
the number again, first saying how many records hold it and whom they name (everyone, when a household
shares it: all are erased), or that none does; scripts give --yes. Records are found by the number they hold now: erase each number the person has
used. A request or volunteer with a live offer or assignment stops the
erasure and nothing is changed, and the refusal names it: end it first. Fulfil or cancel the request
(declining its offer is not enough where automatic dispatch runs: it may offer the request again);
hold the volunteer (doorstep volunteer hold), which withdraws their waiting offers, and hand back
their jobs (doorstep request release).
It waits up to 10 minutes for the answer, unless --timeout says otherwise: an erasure ends by
re-wrapping every data key under a new master key, about 20 s on a file of a million records.
If the server cannot (its data directory not writable, a full disk), the erasure stands but it
says so and exits 1: until that step is done, backups and copies of the server's files still hold
what was erased. Once the server's directory is mended, erase the same number again to finish it.`,
		examples: []string{"doorstep admin erase --phone 07700 900123", "doorstep admin erase --phone '+44 1224 123456' --yes --json"},
	}
	cmd := a.begin("erase", u)
	phone := cmd.fs.String("phone", "", "the person's phone number, in any usual form")
	yes := cmd.fs.Bool("yes", false, "erase without asking to confirm")
	pos, err := cmd.parse(args)
	if err != nil {
		return err
	}
	number, err := personPhone(*phone, pos, u.synopsis, "the person's phone number")
	if err != nil {
		return err
	}
	var shown string // the records the prompt said hold the number
	if !*yes {
		if shown, err = a.confirmErase(number); err != nil {
			return err
		}
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	// An erasure ends with a rotation of the key file's master key, which
	// re-wraps every data key: about 20 s at a million records, beyond
	// the usual wait on a busy server. A --timeout given is kept to.
	if !a.cfg.timeoutSet {
		a.cfg.timeout = max(a.cfg.timeout, eraseTimeout)
	}
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.timeout)
	defer cancel()
	resp, err := c.Admin.ErasePersonalData(ctx, &pb.ErasePersonalDataRequest{Phone: number})
	if client.Reason(err) == server.ReasonHasCommitments {
		which := "a request or volunteer record of " + number
		r := client.Metadata(err, "resource")
		if r != "" {
			which = r + ", a record of " + number + ","
		}
		return &cliError{code: exitFailed, msg: fmt.Sprintf("Nothing was erased: %s has a live offer or assignment, "+
			"so %s, and erase again (%s).", which, commitmentsAdvice(r), server.ReasonHasCommitments)}
	}
	if msg, code := a.describe(err); code == exitUnreachable {
		// The connection may have failed after the erasure was done, and
		// erasing again finds nothing: "nothing is held" would then be
		// the wrong answer to give the person.
		return &cliError{code: code, msg: mayHaveBeenDone(msg, "The erasure may have been done all the same: doorstep admin audit --action erase lists the records each erasure changed, "+
			"and doorstep admin export --phone "+number+" shows what is still held.")}
	}
	if err != nil {
		return err
	}
	if a.cfg.json {
		if err := writeJSON(a.stdout, resp); err != nil {
			return err
		}
		return rotationPending(resp, number)
	}
	if resp.HelpRequestsErased == 0 && resp.VolunteersErased == 0 && shown != "" {
		// Records the prompt named a moment ago are gone: another admin
		// erased them first (two taking the same request), or the number
		// was changed. "Nothing is held" would be passed on to the person
		// as their data never having been held. Said with a key rotation
		// pending too: that alone would read as the records having been
		// erased before, while a changed number still holds them.
		fmt.Fprintf(a.stdout, "Nothing was left to erase: the records that held %s when you were asked to confirm (%s) no longer hold it. "+
			"Someone erased them meanwhile, or changed the number: doorstep admin audit --action erase lists each erasure, "+
			"and doorstep admin export --phone %s shows what is still held.\n", number, shown, number)
		return rotationPending(resp, number)
	}
	if resp.KeyRotationPending && resp.HelpRequestsErased == 0 && resp.VolunteersErased == 0 {
		// "Nothing is held" would read as done, while copies of the files
		// still hold what an earlier erasure took out.
		return rotationPending(resp, number)
	}
	if resp.HelpRequestsErased == 0 && resp.VolunteersErased == 0 {
		fmt.Fprintf(a.stdout, "Nothing is held about %s: nothing was erased.\n", number)
		return nil
	}
	fmt.Fprintf(a.stdout, "Erased the personal data of %s: %s (their statistics stay) and %s.\n", number,
		count(int(resp.HelpRequestsErased), "request"), count(int(resp.VolunteersErased), "volunteer record"))
	return rotationPending(resp, number)
}

// rotationPending is the failure to report when the erasure's last step,
// replacing the master key, failed: the erasure stands, but until that
// step is done a backup or a copy of the files still holds what it
// erased, which the person must not be told is gone. Exit 1, so that a
// script does not mark the erasure done.
func rotationPending(resp *pb.ErasePersonalDataResponse, number string) error {
	if !resp.KeyRotationPending {
		return nil
	}
	what := "But its last step failed"
	if resp.HelpRequestsErased == 0 && resp.VolunteersErased == 0 {
		what = "Nothing was left to erase about " + number + ", but the last step of an earlier erasure failed again"
	}
	return &cliError{code: exitFailed, msg: what + ": the server could not replace the master key that opens the erased data " +
		"(its data directory is not writable, or its disk is full), so until it does, a backup taken now, or a copy of its data and key files, " +
		"still holds what was erased. Have whoever runs the server mend the directory or disk (its log says \"erase: key rotation failed\"), " +
		"then erase again, doorstep admin erase --phone " + number + " --yes, which finds nothing left to erase and finishes this step " +
		"(the server also tries again at its hourly purge and when it starts)."}
}

// namedBy lists the people that records name, each once, in the order
// first met: names are told apart without regard to case or spacing, so
// that "MORAG  REID" typed at another call is still Morag Reid.
func namedBy(reqs []*pb.HelpRequest, vols []*pb.Volunteer) []string {
	var names []string
	seen := map[string]bool{}
	add := func(name string) {
		key := strings.ToLower(strings.Join(strings.Fields(name), " "))
		if key == "" || seen[key] {
			return
		}
		seen[key] = true
		names = append(names, name)
	}
	for _, hr := range reqs {
		add(hr.GetRequester().GetDisplayName())
	}
	for _, v := range vols {
		add(v.GetContact().GetDisplayName())
	}
	return names
}

// andWords joins words as a sentence does: "A", "A and B", "A, B and C".
func andWords(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

var errEraseStopped = &cliError{code: exitUsage, msg: "Stopped: nothing was erased."}

// confirmErase asks for the number again, so that an erasure, which cannot
// be undone, is never one mistyped Enter away. It returns the records it
// said hold the number ("1 request and no volunteer records"), or "" when
// none did.
func (a *app) confirmErase(number string) (string, error) {
	if a.prompt == nil {
		return "", usageErrorf("erasing cannot be undone: give --yes to confirm (not on a terminal, so nothing is asked)")
	}
	want, _ := phone.Normalise(number)
	// A household with one phone is registered as two people (volunteer
	// add --shared-phone), and an erasure by its number takes in both:
	// the admin is told whom it would erase while they can still stop.
	// Reading the names is a read of those records, and audited as one.
	// The erasure takes the number in each form it has been stored in
	// (phone.Forms), so the records named are those of each. A
	// server that lists by every form finds a record under each of
	// them: it is counted once.
	var reqs []*pb.HelpRequest
	var vols []*pb.Volunteer
	var moreReqs, moreVols bool
	for _, form := range phone.Forms(want) {
		rs, more, err := a.listRequests(&pb.ListHelpRequestsRequest{RequesterPhone: form}, maxPageSize)
		if err != nil {
			return "", err
		}
		for _, r := range rs {
			if !slices.ContainsFunc(reqs, func(o *pb.HelpRequest) bool { return o.Name == r.Name }) {
				reqs = append(reqs, r)
			}
		}
		moreReqs = moreReqs || more
		vs, more, err := a.listVolunteers(&pb.ListVolunteersRequest{Phone: form}, maxPageSize)
		if err != nil {
			return "", err
		}
		for _, v := range vs {
			if !slices.ContainsFunc(vols, func(o *pb.Volunteer) bool { return o.Name == v.Name }) {
				vols = append(vols, v)
			}
		}
		moreVols = moreVols || more
	}
	a.prompt.say("This erases the personal data of %s from every request and volunteer record, and cannot be undone.\n", number)
	// The number typed again comes from the same note as the first, so a
	// wrong digit is typed twice: whom the records name, and how many
	// there are, is what shows the admin it is the person who asked.
	held := fmt.Sprintf("%s and %s", countAtLeast(len(reqs), moreReqs, "request"), countAtLeast(len(vols), moreVols, "volunteer record"))
	switch names := namedBy(reqs, vols); {
	case len(reqs)+len(vols) == 0:
		a.prompt.say("No request or volunteer record holds %s now: check the number with the person before going on.\n", number)
	case len(names) > 1:
		a.prompt.say("Its records (%s) name %d people, who share this number: %s. All of them are erased.\n", held, len(names), andWords(names))
	case len(names) == 1:
		a.prompt.say("Its records (%s) name %s.\n", held, names[0])
	default:
		a.prompt.say("Its records: %s.\n", held)
	}
	answer, err := a.prompt.line("Type the phone number again to erase (Enter to stop): ")
	if errors.Is(err, errAborted) {
		return "", errEraseStopped
	}
	if err != nil {
		return "", err
	}
	if answer == "" {
		return "", errEraseStopped
	}
	if got, err := phone.Normalise(answer); err != nil || got != want {
		return "", &cliError{code: exitUsage, msg: "Stopped: that is not the same number, so nothing was erased."}
	}
	if len(reqs)+len(vols) == 0 {
		return "", nil
	}
	return held, nil
}

// commitmentsAdvice says how to end the live offer or assignment that
// stops an erasure, by the kind of record (resource) holding it. Declining
// the offer is not enough where dispatch runs on its own: the request goes
// back to OPEN and the volunteer stays free, and either may be offered
// again before the admin erases again, which is then refused again. A
// request is ended; a volunteer is held, which withdraws their waiting
// offers and keeps new ones from them.
func commitmentsAdvice(resource string) string {
	id := idOf(resource)
	switch {
	case strings.HasPrefix(resource, "helpRequests/"):
		return fmt.Sprintf("end it first: doorstep request fulfil %s if the help was given, else doorstep request cancel %s "+
			"(declining its offer is not enough: automatic dispatch may offer it again)", id, id)
	case strings.HasPrefix(resource, "volunteers/"):
		return fmt.Sprintf("hold them first (doorstep volunteer hold %s), which withdraws their waiting offers and keeps new ones from them, "+
			"then hand back any job they are assigned (doorstep request release ID) or fulfil it", id)
	}
	return "end it first: fulfil or cancel a request (doorstep request fulfil or request cancel); " +
		"hold a volunteer (doorstep volunteer hold), then hand back any job they are assigned (doorstep request release)"
}

// backupTimeout is how long doorstep admin backup waits for its answer
// unless --timeout says otherwise: the server copies the whole data file
// before it answers, and a call given up on is a backup thrown away.
var backupTimeout = 10 * time.Minute

func (a *app) adminBackup(args []string) error {
	u := usage{
		synopsis: "doorstep admin backup",
		text: `Has the server back up its data file as of this moment, while it goes on working: a new directory under
the server's --backup-dir, on the server's machine, holding doorstep.db and doorstep.db.keys, the key file
that opens it. Move both off that machine together, and keep them as safe as the data: together they open
everyone's personal data. To restore, stop the server, copy both into its --data-dir and start it;
everything done since the backup is undone, and erasures made since must be made again. It waits up to
10 minutes for the answer, unless --timeout says otherwise: the server copies the whole file first.
If an erasure's last step, replacing the master key, is still to do, the server does it first; if it
cannot (its data directory not writable, a full disk), the backup is taken, but it says that this
backup still holds what was erased, and exits 1: mend the server's directory, take a new backup and
delete this one.`,
		examples: []string{"doorstep admin backup", "doorstep admin backup --json"},
	}
	c, err := a.begin("backup", u).connect(args)
	if err != nil {
		return err
	}
	if !a.cfg.timeoutSet {
		a.cfg.timeout = max(a.cfg.timeout, backupTimeout)
	}
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.timeout)
	defer cancel()
	resp, err := c.Admin.CreateBackup(ctx, &pb.CreateBackupRequest{})
	switch client.Reason(err) {
	case server.ReasonBackupDirUnset:
		return &cliError{code: exitFailed, msg: "This server takes no backups: it must be started with --backup-dir (or DOORSTEP_BACKUP_DIR), " +
			"the directory on its machine to write them under (" + server.ReasonBackupDirUnset + ")."}
	case server.ReasonBackupDiskFull:
		return &cliError{code: exitFailed, msg: "The disk the server writes backups to (its --backup-dir) is full, so no backup was written; nothing else changed. " +
			"Tell whoever runs the server to free space there or give --backup-dir a larger disk (" + server.ReasonBackupDiskFull + ")."}
	case server.ReasonAlreadyExists:
		return &cliError{code: exitFailed, msg: "Another backup was taken at the same moment, so none was written this time: run doorstep admin backup again (" +
			server.ReasonAlreadyExists + ")."}
	}
	// The answer may have been lost after the copy was made (the server
	// stopping, the connection dropping): a backup then lies under
	// --backup-dir, everyone's data and the key to it, which nobody would
	// think to move off the machine.
	if lost := a.answerLost(err, "The backup may have been written all the same: doorstep admin audit --action backup lists each backup taken, "+
		"and it is in a directory named by its time under the server's --backup-dir."); lost != nil {
		return lost
	}
	if err != nil {
		return err
	}
	if a.cfg.json {
		if err := writeJSON(a.stdout, resp); err != nil {
			return err
		}
		return backupRotationPending(resp)
	}
	fmt.Fprintf(a.stdout, "Backed up revision %d (%s) to %s on the server's machine: doorstep.db and doorstep.db.keys, the key file that opens it.\n",
		resp.Revision, fmtBytes(resp.SizeBytes), resp.Directory)
	fmt.Fprintln(a.stdout, "Move both off that machine together, and keep them as safe as the data: together they open everyone's personal data.")
	return backupRotationPending(resp)
}

// backupRotationPending is the failure to report when the backup was
// taken but the server could not first replace the master key that opens
// what was erased or deleted since its last key rotation: the backup
// still holds the people an admin has told were erased. Exit 1, as erase
// does for the same step, so that a script does not file it as a good
// backup.
func backupRotationPending(resp *pb.CreateBackupResponse) error {
	if !resp.KeyRotationPending {
		return nil
	}
	return &cliError{code: exitFailed, msg: "But this backup still holds what was erased: the server could not first replace the master key " +
		"that opens what was erased or deleted since it last did (its data directory is not writable, or its disk is full), so the backup's key file still opens it. " +
		"Have whoever runs the server mend the directory or disk (its log says \"backup: key rotation failed\"), then take a new backup, doorstep admin backup, " +
		"which replaces the key first, and delete this one (" + resp.Directory + " on the server's machine) and every copy of it."}
}

// fmtBytes says a file's size as people read it: 812 KB, 1.4 GB.
func fmtBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	v, suffix := float64(n)/unit, "KB"
	for _, s := range []string{"MB", "GB", "TB"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, suffix)
	}
	return fmt.Sprintf("%.0f %s", v, suffix)
}

// auditTime is when an audited action happened, to the second, in UK
// time: "2026-10-25 01:50:00", with BST or GMT in the hour that comes
// twice, whose rows would otherwise seem out of order.
func auditTime(t time.Time) string {
	t = t.In(london)
	return t.Format("2006-01-02 15:04:05") + twiceWords(t)
}
