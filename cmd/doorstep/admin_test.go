package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// asAdmin makes the command's token an admin one from here on, and
// returns it.
func (e *testEnv) asAdmin() string {
	e.t.Helper()
	secret := e.newToken(pb.Role_ROLE_ADMIN)
	e.env["DOORSTEP_TOKEN"] = secret
	return secret
}

// storedTokens lists tokens straight from the store.
func (e *testEnv) storedTokens() []*pb.Token {
	e.t.Helper()
	toks, _, err := e.st.ListTokens(context.Background(), store.Page{Size: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return toks
}

// TestAdminTokensAndOrganisations registers an organisation, issues
// tokens of three kinds, checks that a new secret works until it is
// revoked, and compares each output with its golden file.
func TestAdminTokensAndOrganisations(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	e.asAdmin()

	golden(t, "admin_org_create", e.ok("admin", "org", "create", "granite-city-food-bank", "--name", "Granite City Food Bank"))
	e.clock.advance(time.Second)
	e.ok("admin", "org", "create", "Organisations/Aberdeen-Mutual-Aid", "--name", "Aberdeen Mutual Aid")
	e.clock.advance(time.Second)
	golden(t, "admin_org_list", e.ok("admin", "org", "list"))

	out := e.ok("admin", "token", "create", "--role", "helpline", "--name", "Helpline desk 3", "--expires", "720h")
	golden(t, "admin_token_create", out)
	desk3 := firstName(t, out, "tokens")
	secret := secretRE.FindString(out)
	if secret == "" || strings.Count(out, secret) != 1 {
		t.Fatalf("the secret is not printed once: %q", out)
	}
	e.clock.advance(time.Second)

	out = e.ok("admin", "token", "create", "--role", "partner", "--name", "Granite City Food Bank import",
		"--org", "granite-city-food-bank", "--expires", "2027-01-31", "--json")
	golden(t, "admin_token_create_json", out)
	var resp struct {
		Token  map[string]any
		Secret string
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("token create --json: %v\n%s", err, out)
	}
	if resp.Token["organisation"] != "granite-city-food-bank" || resp.Token["role"] != "ROLE_PARTNER" ||
		resp.Token["expire_time"] != "2027-02-01T00:00:00Z" || !secretRE.MatchString(resp.Secret) {
		t.Errorf("token create --json = %s; want a partner token of granite-city-food-bank working through 31 Jan 2027", out)
	}
	e.clock.advance(time.Second)

	// A volunteer token, and one that has expired by the time of the list.
	e.ok("admin", "tokens", "create", "--role", "volunteer", "--name", "Callum Reid", "--volunteer", callum)
	e.ok("admin", "token", "create", "--role", "coordinator", "--name", "Night shift", "--expires", "2h")
	e.clock.advance(3 * time.Hour)

	// The new secret works, with the helpline's rights only.
	if r := e.run("request", "list", "--token", secret); r.code != 0 {
		t.Fatalf("the new helpline token: exit %d, %q", r.code, r.stderr)
	}
	if r := e.run("admin", "token", "list", "--token", secret); r.code != exitDenied {
		t.Errorf("the new helpline token listing tokens: exit %d, want %d", r.code, exitDenied)
	}

	golden(t, "admin_token_revoke", e.ok("admin", "token", "revoke", strings.TrimPrefix(desk3, "tokens/")))
	e.clock.advance(time.Minute)
	// Who made and revoked it is on its trail, read by its name.
	var trail []struct{ Action string }
	if err := json.Unmarshal([]byte(e.ok("admin", "audit", "--resource", desk3, "--json")), &trail); err != nil {
		t.Fatal(err)
	}
	if len(trail) != 2 || trail[0].Action != "revoke" || trail[1].Action != "create" {
		t.Errorf("admin audit --resource %s: %+v, want revoke then create", desk3, trail)
	}
	golden(t, "admin_token_list", e.ok("admin", "token", "list"))
	for _, tok := range e.storedTokens() {
		if (tok.Name == desk3) != (tok.RevokeTime != nil) {
			t.Errorf("after revoking %s the store holds %v", desk3, tok)
		}
	}
	checkFailure(t, e.run("request", "list", "--token", secret), true, exitDenied,
		"The server did not accept the token: check --token or DOORSTEP_TOKEN (UNAUTHENTICATED).")

	var list []map[string]any
	if err := json.Unmarshal([]byte(e.ok("admin", "token", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	// The test's own helpline, coordinator and admin tokens, and four made here.
	if len(list) != 7 {
		t.Errorf("token list --json has %d tokens, want 7", len(list))
	}
	for _, tok := range list {
		if _, ok := tok["secret"]; ok {
			t.Errorf("token list shows a secret: %v", tok)
		}
	}
}

// TestAdminAuditExportErase follows a data rights request: the audit log
// shows who read a caller's details, the export holds everything about
// them, and the erasure is refused while a volunteer holds their request,
// then done.
func TestAdminAuditExportErase(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	e.ok("request", "show", req)
	e.clock.advance(time.Second)
	offer := firstName(t, e.ok("offer", "make", req, callum), "offers")
	e.clock.advance(time.Second)
	helpline := e.env["DOORSTEP_TOKEN"]
	e.asAdmin()

	golden(t, "admin_audit", e.ok("admin", "audit"))
	var recs []*struct {
		Actor, Resource, Action string
	}
	if err := json.Unmarshal([]byte(e.ok("admin", "audit", "--resource", req, "--action", "read-contact", "--json")), &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Resource != req || recs[0].Action != "read_contact" || !strings.HasPrefix(recs[0].Actor, "tokens/") {
		t.Errorf("audit --resource %s --action read_contact = %+v, want the one read by request show", req, recs)
	}
	if out := e.ok("admin", "audit", "--actor", "system"); out != "No audit records match.\n" {
		t.Errorf("audit --actor system = %q", out)
	}
	if out := e.ok("admin", "audit", "--actor", recs[0].Actor, "--limit", "1"); strings.Count(out, "\n") != 3 ||
		!strings.HasSuffix(out, "The newest 1 are shown; there are more: give a larger --limit.\n") {
		t.Errorf("audit --limit 1 = %q", out)
	}

	golden(t, "admin_export", e.ok("admin", "export", "--phone", "01224", "123456"))
	out := e.ok("admin", "export", "--phone", "+44 1224 123456", "--json")
	golden(t, "admin_export_json", out)
	var exp struct {
		HelpRequests []struct {
			Name      string
			Requester struct{ Phone string }
		} `json:"help_requests"`
		Offers []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(out), &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp.HelpRequests) != 1 || exp.HelpRequests[0].Name != req || exp.HelpRequests[0].Requester.Phone != "+441224123456" ||
		len(exp.Offers) != 1 || exp.Offers[0].Name != offer {
		t.Errorf("export --json = %s", out)
	}
	if out := e.ok("admin", "export", "--phone", "07700 900999"); out != "Nothing is held about 07700 900999.\n" {
		t.Errorf("export of a stranger = %q", out)
	}

	// The offer to Callum is live: nothing may be erased.
	checkFailure(t, e.run("admin", "erase", "--phone", "01224 123456", "--yes"), true, exitFailed,
		"Nothing was erased: "+req+", a record of 01224 123456, has a live offer or assignment, so end it first: "+
			"doorstep request fulfil "+idOf(req)+" if the help was given, else doorstep request cancel "+idOf(req)+
			" (declining its offer is not enough: automatic dispatch may offer it again), and erase again (HAS_COMMITMENTS).")
	// Nor Callum's, who holds the offer: declining it would leave him free
	// for dispatch to offer the next request.
	checkFailure(t, e.run("admin", "erase", "--phone", "07700 900123", "--yes"), true, exitFailed,
		"Nothing was erased: "+callum+", a record of 07700 900123, has a live offer or assignment, so hold them first "+
			"(doorstep volunteer hold "+idOf(callum)+"), which withdraws their waiting offers and keeps new ones from them, "+
			"then hand back any job they are assigned (doorstep request release ID) or fulfil it, and erase again (HAS_COMMITMENTS).")
	if got := e.storedRequests(store.HelpRequestFilter{Phone: "+441224123456"}); len(got) != 1 || got[0].GetRequester().GetDisplayName() != "Margaret Ironside" {
		t.Fatalf("a refused erasure changed %v", got)
	}

	e.run("offer", "decline", offer, "--token", helpline)
	e.clock.advance(time.Second)
	golden(t, "admin_erase", e.ok("admin", "erase", "--phone", "01224 123456", "--yes"))
	hr := e.storedRequests(store.HelpRequestFilter{})
	if len(hr) != 1 || hr[0].GetRequester().GetPhone() != "" || hr[0].Details != "" || len(hr[0].GetLocation().GetAddressLines()) != 0 {
		t.Errorf("after erasure the store holds %v", hr)
	}
	// Staff looking the request up again see why it has no caller.
	if out := e.ok("request", "show", req); !regexp.MustCompile(`\nCaller +personal data removed `).MatchString(out) {
		t.Errorf("request show after the erasure:\n%s\nwant the caller's row to say their data was removed", out)
	}
	if out := e.ok("admin", "erase", "--phone", "01224 123456", "--yes", "--json"); out != "{}\n" {
		t.Errorf("a second erasure --json = %q, want nothing erased", out)
	}
	e.clock.advance(time.Second)
	golden(t, "admin_audit_erase", e.ok("admin", "audit", "--action", "erase"))
}

// TestAdminAuditPages reads more records than one page holds.
func TestAdminAuditPages(t *testing.T) {
	e := newTestEnv(t)
	e.asAdmin()
	recs := make([]*pb.AuditRecord, 1205)
	for i := range recs {
		recs[i] = &pb.AuditRecord{Actor: "system", Role: pb.Role_ROLE_UNSPECIFIED, Action: "purge",
			Resource: fmt.Sprintf("helpRequests/01kk%022d", i), Fields: []string{"requester"}}
	}
	if err := e.st.RecordAudit(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit string
		want  int
		more  bool
	}{{"1003", 1003, true}, {"1205", 1205, false}, {"5000", 1205, false}} {
		r := e.run("admin", "audit", "--actor", "system", "--limit", tc.limit, "--json")
		var got []map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &got); r.code != 0 || err != nil {
			t.Fatalf("exit %d, %v; stderr %q", r.code, err, r.stderr)
		}
		if len(got) != tc.want {
			t.Errorf("--limit %s gave %d records, want %d", tc.limit, len(got), tc.want)
		}
		if more := strings.Contains(r.stderr, "there are more"); more != tc.more {
			t.Errorf("--limit %s --json: stderr says there are more: %v, want %v", tc.limit, more, tc.more)
		}
		table := e.ok("admin", "audit", "--actor", "system", "--limit", tc.limit)
		if more := strings.Contains(table, "there are more"); more != tc.more {
			t.Errorf("--limit %s: says there are more: %v, want %v", tc.limit, more, tc.more)
		}
		// Newest first: the last record written leads.
		if len(got) > 0 && got[0]["resource"] != recs[len(recs)-1].Resource {
			t.Errorf("--limit %s starts with %v, want the newest", tc.limit, got[0]["resource"])
		}
	}
}

// TestAdminEraseAtTheTerminal: on a terminal the erasure asks for the
// number again; a different number stops it, the same number in another
// form goes ahead.
func TestAdminEraseAtTheTerminal(t *testing.T) {
	e := newTestEnv(t)
	_, aileen := e.addVolunteers()
	e.asAdmin()
	erase := func(answer string) (int, *terminal, string) {
		term, code, stdout := e.atTerminal(t, []string{"admin", "erase", "--phone", "07700 900456"})
		term.expect("This erases the personal data of 07700 900456 from every request and volunteer record, and cannot be undone.")
		term.expect("Type the phone number again to erase (Enter to stop): ")
		term.send(answer)
		select {
		case c := <-code:
			return c, term, stdout.String()
		case <-time.After(15 * time.Second):
			t.Fatal("admin erase did not finish")
		}
		return 0, nil, ""
	}
	volunteerKept := func() bool {
		vols, _, err := e.st.ListVolunteers(context.Background(), store.VolunteerFilter{}, store.Page{Size: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vols {
			if v.Name == aileen {
				return true
			}
		}
		return false
	}

	code, term, out := erase("07700 900123")
	if code != exitUsage || out != "" {
		t.Errorf("a different number: exit %d, stdout %q", code, out)
	}
	term.expect("Stopped: that is not the same number, so nothing was erased.")
	code, term, out = erase("")
	if code != exitUsage || out != "" {
		t.Errorf("Enter alone: exit %d, stdout %q", code, out)
	}
	term.expect("Stopped: nothing was erased.")
	if !volunteerKept() {
		t.Fatal("a stopped erasure deleted the volunteer")
	}
	code, _, out = erase("+447700900456")
	if code != 0 || out != "Erased the personal data of 07700 900456: no requests (their statistics stay) and 1 volunteer record.\n" {
		t.Errorf("the same number: exit %d, stdout %q", code, out)
	}
	if volunteerKept() {
		t.Error("the erased volunteer is still stored")
	}
}

// TestAdminErrors: each failure of an admin command is one plain sentence
// and the exit code scripts rely on; a helpline token may use none of them.
func TestAdminErrors(t *testing.T) {
	e := newTestEnv(t)
	helpline := e.env["DOORSTEP_TOKEN"]
	e.asAdmin()
	e.ok("admin", "org", "create", "granite-city-food-bank", "--name", "Granite City Food Bank")
	revoked := firstName(t, e.ok("admin", "token", "create", "--role", "helpline", "--name", "Old desk"), "tokens")
	e.ok("admin", "token", "revoke", revoked)
	missingToken := "tokens/01kk0000000000000000000000"
	lastAdmin := ""
	for _, tk := range e.storedTokens() {
		if tk.Role == pb.Role_ROLE_ADMIN {
			lastAdmin = tk.Name
		}
	}
	denied := "The token does not allow this: doorstep admin * needs an admin token (PERMISSION_DENIED)."
	create := func(extra ...string) []string {
		return append([]string{"admin", "token", "create", "--name", "Helpline desk 3"}, extra...)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"helpline lists tokens", []string{"admin", "token", "list", "--token", helpline}, exitDenied, denied},
		{"helpline creates a token", append(create("--role", "admin"), "--token", helpline), exitDenied, denied},
		{"helpline reads the audit log", []string{"admin", "audit", "--token", helpline}, exitDenied, denied},
		{"helpline exports", []string{"admin", "export", "--phone", "07700 900123", "--token", helpline}, exitDenied, denied},
		{"helpline erases", []string{"admin", "erase", "--phone", "07700 900123", "--yes", "--token", helpline}, exitDenied, denied},
		{"no token", []string{"admin", "org", "list", "--token", ""}, exitDenied,
			"The server did not accept the token: check --token or DOORSTEP_TOKEN (UNAUTHENTICATED)."},
		{"admin alone", []string{"admin"}, exitUsage,
			"Doorstep admin needs one of: token, org, audit, export, erase, backup; see doorstep help admin."},
		{"unknown admin command", []string{"admin", "token", "delete", revoked}, exitUsage,
			`Doorstep admin token has no "delete": use one of create, list, revoke.`},
		{"missing role and name", []string{"admin", "token", "create"}, exitUsage,
			"Missing --role, --name; see doorstep admin token create --help."},
		{"unknown role", create("--role", "boss"), exitUsage,
			`--role: "boss" is not a role: helpline, coordinator, partner, volunteer, admin.`},
		{"partner without org", create("--role", "partner"), exitUsage,
			"A partner token needs --org, the organisation it acts for."},
		{"org on a helpline token", create("--role", "helpline", "--org", "granite-city-food-bank"), exitUsage,
			"--org is only for partner tokens."},
		{"volunteer without id", create("--role", "volunteer"), exitUsage,
			"A volunteer token needs --volunteer, the volunteer it belongs to."},
		{"bad volunteer id", create("--role", "volunteer", "--volunteer", "callum"), exitUsage,
			`--volunteer: "callum" is not a volunteer id: ids are 26 letters and digits, as printed by doorstep.`},
		{"expiry passed", create("--role", "helpline", "--expires", "2026-03-09"), exitUsage,
			"--expires: 2026-03-09 has already passed."},
		{"expiry unreadable", create("--role", "helpline", "--expires", "soon"), exitUsage,
			`--expires: "soon" is neither a length of time such as 720h or 30d nor a date such as 2027-01-31.`},
		{"unregistered organisation (server)", create("--role", "partner", "--org", "no-such-org"), exitUsage,
			"The organisation is not a registered organisation: create it first (token.organisation, --org)."},
		{"name too long (server)", []string{"admin", "token", "create", "--role", "helpline", "--name", strings.Repeat("x", 101)}, exitUsage,
			"The name must be at most 100 characters (token.display_name, --name)."},
		{"revoke unknown", []string{"admin", "token", "revoke", missingToken}, exitNotFound,
			"There is no " + missingToken + ": check the id (NOT_FOUND)."},
		{"revoke twice", []string{"admin", "token", "revoke", revoked}, exitFailed,
			revoked + " was already revoked (WRONG_STATE)."},
		{"revoke the last admin token", []string{"admin", "token", "revoke", lastAdmin}, exitFailed,
			lastAdmin + " is the last admin token that works: create another admin token first, then revoke this one (LAST_ADMIN_TOKEN)."},
		{"revoke not a token", []string{"admin", "token", "revoke", "volunteers/01kk0000000000000000000000"}, exitUsage,
			`"volunteers/01kk0000000000000000000000" is not a token: give its id or tokens/ID.`},
		{"org exists", []string{"admin", "org", "create", "granite-city-food-bank", "--name", "Again"}, exitFailed,
			"The organisation granite-city-food-bank is already registered: see doorstep admin org list (ALREADY_EXISTS)."},
		{"bad slug", []string{"admin", "org", "create", "Granite City", "--name", "Granite City Food Bank"}, exitUsage,
			`"Granite City" is not a slug: 2 to 63 lower-case letters, digits and hyphens, starting with a letter, such as granite-city-food-bank.`},
		{"org without name", []string{"admin", "org", "create", "granite-city"}, exitUsage,
			"Missing --name; see doorstep admin org create --help."},
		{"audit unknown action", []string{"admin", "audit", "--action", "peek"}, exitUsage,
			`--action: "peek" is not an action: read_contact, create, update, delete, offer, accept, decline, complete, release, cancel, export, erase, purge, backup, revoke.`},
		{"audit unknown resource", []string{"admin", "audit", "--resource", "01kk0000000000000000000000"}, exitUsage,
			`--resource: "01kk0000000000000000000000" is not a record: give helpRequests/ID, volunteers/ID, tokens/ID or phone.`},
		// A phone number is what an admin holds when a person asks who saw
		// their data; "give ... or phone" read as if it were taken.
		{"audit phone number", []string{"admin", "audit", "--resource", "07700 900123"}, exitUsage,
			`--resource: 07700 900123 is a phone number, not a record: doorstep admin export --phone '07700 900123' shows who read or changed that person's records, and --resource phone lists exports and erasures by number.`},
		{"audit bad actor", []string{"admin", "audit", "--actor", "margaret"}, exitUsage,
			`--actor: "margaret" is not a token id: ids are 26 letters and digits, as printed by doorstep.`},
		{"audit limit", []string{"admin", "audit", "--limit", "0"}, exitUsage, "--limit must be at least 1."},
		{"export without phone", []string{"admin", "export"}, exitUsage,
			"Give the person's phone number: doorstep admin export --phone NUMBER."},
		{"export bad phone", []string{"admin", "export", "--phone", "12345"}, exitUsage,
			`"12345" is not a phone number: give a UK number such as 01224 123456 or 07700 900123, or an international one starting with +.`},
		{"erase unconfirmed off a terminal", []string{"admin", "erase", "--phone", "07700 900123"}, exitUsage,
			"Erasing cannot be undone: give --yes to confirm (not on a terminal, so nothing is asked)."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkFailure(t, e.run(tc.args...), true, tc.code, tc.want)
		})
	}
}

// TestAdminHelp: the admin group lists its commands, and help for a group
// of groups works.
func TestAdminHelp(t *testing.T) {
	e := newTestEnv(t)
	golden(t, "help_admin", e.ok("help", "admin"))
	golden(t, "help_admin_token_create", e.ok("admin", "token", "create", "--help"))
	if out := e.ok("admin", "token", "--help"); !strings.Contains(out, "doorstep admin token revoke") || strings.Contains(out, "admin audit") {
		t.Errorf("admin token --help = %q", out)
	}
}

// TestAdminAuditOfBackups: the server audits each backup as action
// backup (README, Backups), so an admin asking who took backups must be
// able to filter on it, not be told it is not an action.
func TestAdminAuditOfBackups(t *testing.T) {
	e := newTestEnv(t)
	e.asAdmin()
	if r := e.run("admin", "audit", "--action", "backup"); r.code != 0 || r.stdout != "No audit records match.\n" {
		t.Errorf("admin audit --action backup: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestAdminBackup: an admin backs up the running server from the command
// line, as the README shows; the backup is there, the reply says where and
// what to do with it, --json gives the reply whole, and the audit log names
// who took it.
func TestAdminBackup(t *testing.T) {
	backups := t.TempDir()
	e := newTestEnvServing(t, []server.Option{server.WithBackupDir(backups)})
	e.addVolunteers()
	e.asAdmin()

	out := e.ok("admin", "backup")
	dir := filepath.Join(backups, "doorstep-20260310T090002.000Z")
	for _, name := range []string{"doorstep.db", "doorstep.db.keys"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("the backup's %s: %v", name, err)
		}
	}
	out = strings.ReplaceAll(out, dir, "/var/backups/doorstep/doorstep-20260310T090002.000Z")
	golden(t, "admin_backup", regexp.MustCompile(`\(\d+(\.\d)? [KMG]B\)`).ReplaceAllString(out, "(SIZE)"))

	e.clock.advance(time.Second)
	var resp map[string]any
	if err := json.Unmarshal([]byte(e.ok("admin", "backup", "--json")), &resp); err != nil {
		t.Fatal(err)
	}
	if resp["directory"] != filepath.Join(backups, "doorstep-20260310T090003.000Z") || resp["revision"] == nil ||
		resp["size_bytes"] == nil || resp["create_time"] != "2026-03-10T09:00:03Z" {
		t.Errorf("admin backup --json = %v", resp)
	}
	if out := e.ok("admin", "audit", "--action", "backup"); strings.Count(out, "AdminService.CreateBackup") != 2 {
		t.Errorf("admin audit --action backup lists the two backups as:\n%s", out)
	}
}

// TestAdminBackupRefused: the ways a backup is refused, each one sentence
// that says what to do.
func TestAdminBackupRefused(t *testing.T) {
	e := newTestEnv(t)
	helpline := e.env["DOORSTEP_TOKEN"]
	e.asAdmin()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"server without --backup-dir", []string{"admin", "backup"}, exitFailed,
			"This server takes no backups: it must be started with --backup-dir (or DOORSTEP_BACKUP_DIR), the directory on its machine to write them under (BACKUP_DIR_UNSET)."},
		{"helpline token", []string{"admin", "backup", "--token", helpline}, exitDenied,
			"The token does not allow this: doorstep admin backup needs an admin token (PERMISSION_DENIED)."},
		{"a path given", []string{"admin", "backup", "/tmp/here"}, exitUsage,
			`Unexpected "/tmp/here": usage is doorstep admin backup.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkFailure(t, e.run(tc.args...), true, tc.code, tc.want)
		})
	}
}

// TestAdminEraseHelpSaysHowToEndCommitments: an admin told by erase
// --help to decline a waiting offer found, where automatic dispatch runs,
// the request offered again and the erasure refused again; the help must
// say what the refusal itself and the README say: fulfil or cancel the
// request, hold the volunteer and hand back their jobs.
func TestAdminEraseHelpSaysHowToEndCommitments(t *testing.T) {
	e := newTestEnv(t)
	out := e.ok("admin", "erase", "--help")
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"cancel the request", "doorstep volunteer hold", "doorstep request release", "declining its offer is not enough"} {
		if !strings.Contains(flat, want) {
			t.Errorf("admin erase --help lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(flat, "end it first (decline the offer") {
		t.Errorf("admin erase --help still offers declining the offer as the way to end it:\n%s", out)
	}
}

// TestAdminAuditHelpNamesTokens: an admin asking after a breach who
// revoked a token read in doorstep admin audit --help that the record
// filtered on is helpRequests/ID, volunteers/ID or phone, as if a
// token's trail could not be read; it names tokens/ID and what is on it.
func TestAdminAuditHelpNamesTokens(t *testing.T) {
	e := newTestEnv(t)
	r := e.run("admin", "audit", "--help")
	help := r.stdout + r.stderr
	if !strings.Contains(help, "the record is helpRequests/ID, volunteers/ID, tokens/ID or phone") || !strings.Contains(help, "who made or revoked each token") {
		t.Errorf("doorstep admin audit --help does not name tokens/ID and what is on it:\n%s", help)
	}
}
