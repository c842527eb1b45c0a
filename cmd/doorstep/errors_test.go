package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doorstep-aid/doorstep/server"
)

// TestErrorsAndExitCodes: each failure is one plain sentence on stderr,
// nothing on stdout, and the exit code scripts rely on.
func TestErrorsAndExitCodes(t *testing.T) {
	e := newTestEnv(t)
	callum, aileen := e.addVolunteers()
	req := e.newRequest()
	offer := firstName(t, e.ok("offer", "make", req, callum), "offers")
	e.ok("offer", "accept", offer)
	missingID := "helpRequests/01kk0000000000000000000000"

	valid := []string{"request", "new", "--postcode", "AB10 1AB", "--needs", "shopping", "--when", "tomorrow 10:00-12:00",
		"--name", "Margaret", "--phone", "01224 123456", "--org", org}
	with := func(flag, value string) []string {
		out := append([]string(nil), valid...)
		for i := range out {
			if out[i] == flag {
				out[i+1] = value
				return out
			}
		}
		return append(out, flag, value)
	}

	// instead replaces the --when of valid with another option.
	instead := func(flag, value string) []string {
		out := slices.Clone(valid)
		i := slices.Index(out, "--when")
		return slices.Replace(out, i, i+2, flag, value)
	}

	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string // the whole of stderr, less its newline; a * stands for any text
	}{
		{"no command", nil, nil, exitUsage, ""},
		{"unknown command", []string{"reqest", "list"}, nil, exitUsage,
			`Unknown command "reqest": did you mean "request"? See doorstep help.`},
		{"unknown flag", []string{"request", "list", "--nearby", "AB10"}, nil, exitUsage,
			"There is no --nearby option; see doorstep request list --help."},
		{"missing flags off a terminal", []string{"request", "new", "--postcode", "AB10 1AB"}, nil, exitUsage,
			"Missing --needs, --when, --name, --phone, --org (not on a terminal, so nothing is asked); see doorstep request new --help."},
		{"unknown postcode", with("--postcode", "AB99 9ZZ"), nil, exitUsage,
			"The postcode AB99 9ZZ is not known (location.postcode). Give the address's coordinates (--lat, --lng) or check the postcode."},
		{"coordinates far from the postcode", append(with("--lat", "51.5"), "--lng", "-0.1"), nil, exitUsage,
			"The coordinates are * km from the centre of postcode AB10 1AB; check the postcode and the coordinates (location.lat_lng, --lat, --lng)."},
		{"malformed postcode", with("--postcode", "XYZ"), nil, exitUsage,
			`--postcode: "XYZ" is not a UK postcode: it looks like AB10 1AB.`},
		{"bad phone", with("--phone", "12345"), nil, exitUsage,
			`--phone: "12345" is not a phone number: give a UK number such as 01224 123456 or 07700 900123, or one starting with +.`},
		{"time passed", with("--when", "today by 08:00"), nil, exitUsage,
			"--when: Tue 10 Mar 08:00 has already passed."},
		{"deadline passed", instead("--deadline", "today 08:00"), nil, exitUsage,
			"--deadline: Tue 10 Mar 08:00 has already passed."},
		{"unreadable time", with("--when", "whenever"), nil, exitUsage,
			`--when: cannot read "whenever" as a day or time: try "tomorrow 10:00-12:00", "today by 18:00", "fri 2pm-4pm", "in 3 hours" or "2026-03-12 10:00".`},
		{"other without details (server)", with("--needs", "other"), nil, exitUsage,
			"The details say what is needed when needs includes NEED_OTHER (details, --details)."},
		{"several bad fields (server)", append(with("--name", strings.Repeat("M", 101)), "--skills", "bad!"), nil, exitUsage,
			"Skills: must be 1 to 40 lower-case letters, digits and hyphens, starting with a letter or digit (required_skills[0], --skills); " +
				"the name must be at most 100 characters (requester.display_name, --name)."},
		{"details too long (server)", with("--details", strings.Repeat("d", 2001)), nil, exitUsage,
			"The details must be at most 2000 characters (details, --details)."},
		{"details with a control character (server)", with("--details", "Ring twice\a then wait"), nil, exitUsage,
			"The details must not contain control characters (details, --details)."},
		{"not found", []string{"request", "show", missingID}, nil, exitNotFound,
			"There is no " + missingID + ": check the id (HELP_REQUEST_NOT_FOUND)."},
		{"not an id", []string{"request", "show", "12"}, nil, exitUsage,
			`"12" is not a help request id: ids are 26 letters and digits, as printed by doorstep.`},
		{"wrong collection", []string{"request", "show", callum}, nil, exitUsage,
			`"` + callum + `" is not a help request: give its id or helpRequests/ID.`},
		{"wrong state", []string{"offer", "accept", offer}, nil, exitFailed,
			"Not accepted: " + offer + " is accepted already (WRONG_STATE)."},
		{"not eligible", []string{"offer", "make", e.newRequest("--skills", "welsh"), aileen}, nil, exitFailed, ""},
		{"bad state filter", []string{"request", "list", "--state", "pending"}, nil, exitUsage,
			`--state: "pending" is not a state: open, offered, assigned, fulfilled, cancelled, expired, in-hand (open, offered and assigned) or all.`},
		{"bad urgency filter", []string{"request", "list", "--urgency", "very"}, nil, exitUsage,
			`--urgency: "very" is not an urgency: low, normal, high or critical (1-4).`},
		{"bad phone to find", []string{"request", "find", "--phone", "abc"}, nil, exitUsage,
			`"abc" is not a phone number: give a UK number such as 01224 123456 or 07700 900123, or an international one starting with +.`},
		{"missing argument", []string{"request", "show"}, nil, exitUsage,
			"Missing argument: usage is doorstep request show ID."},
		{"cannot reach", []string{"request", "list"}, map[string]string{"DOORSTEP_ADDR": "127.0.0.1:1"}, exitUnreachable,
			"Cannot reach the Doorstep server at 127.0.0.1:1. Check the address (--addr or DOORSTEP_ADDR) and that the server is running."},
		{"no token", []string{"request", "list"}, map[string]string{"DOORSTEP_ADDR": e.addr}, exitDenied,
			"The server did not accept the token: check --token or DOORSTEP_TOKEN (UNAUTHENTICATED)."},
		{"unknown token", []string{"request", "list", "--token", "ds_not-a-token"}, nil, exitDenied,
			"The server did not accept the token: check --token or DOORSTEP_TOKEN (UNAUTHENTICATED)."},
		{"role not allowed", []string{"watch"}, nil, exitDenied,
			"The token does not allow this: doorstep watch needs a coordinator, partner or admin token (PERMISSION_DENIED)."},
		{"plaintext refused with tls", []string{"request", "list", "--insecure", "--tls"}, nil, exitUsage,
			"--insecure turns TLS off: give it without --tls, --ca-file, --cert and --key."},
		{"import without org", []string{"import", "testdata/import.csv"}, nil, exitUsage,
			"Give the organisation with --org (or DOORSTEP_ORG): 2 to 63 lower-case letters, digits and hyphens."},
		{"import unknown column", []string{"import", "testdata/bad_header.csv", "--org", org}, nil, exitUsage,
			`Line 1: unknown column "post code please"; the columns are listed by doorstep import --help.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saved := e.env
			if tc.env != nil {
				e.env = tc.env
			}
			defer func() { e.env = saved }()
			checkFailure(t, e.run(tc.args...), tc.args != nil, tc.code, tc.want)
		})
	}
}

// checkFailure checks a failed run: the exit code, nothing on stdout, and
// (when oneLine) exactly one sentence on stderr without internals. want is
// the whole of stderr less its newline, a * standing for any text; ""
// checks no wording.
func checkFailure(t *testing.T, r result, oneLine bool, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if r.code != 0 && oneLine && r.stdout != "" {
		t.Errorf("stdout = %q, want nothing on failure", r.stdout)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if oneLine && len(lines) != 1 {
		t.Errorf("stderr has %d lines, want one sentence: %q", len(lines), r.stderr)
	}
	for _, bad := range []string{"rpc error", "goroutine", "client:", "desc =", "x509:", "tls:", "transport:"} {
		if strings.Contains(r.stderr, bad) {
			t.Errorf("stderr shows internals (%q): %q", bad, r.stderr)
		}
	}
	got := strings.TrimSuffix(r.stderr, "\n")
	prefix, suffix, wild := strings.Cut(want, "*")
	if want != "" && (wild && (!strings.HasPrefix(got, prefix) || !strings.HasSuffix(got, suffix) || len(got) < len(want)) || !wild && got != want) {
		t.Errorf("stderr:\n got %q\nwant %q", got, want)
	}
}

// TestHelp: help and --help print usage with examples and succeed.
func TestHelp(t *testing.T) {
	e := newTestEnv(t)
	golden(t, "help", e.ok("help"))
	golden(t, "help_request_new", e.ok("request", "new", "--help"))
	if out := e.ok("help", "import"); !strings.Contains(out, "external_id") || !strings.Contains(out, "Examples:") {
		t.Errorf("help import = %q", out)
	}
	for _, c := range commands {
		args := append(strings.Fields(c.path), "--help")
		if c.path == "help" {
			continue
		}
		out := e.ok(args...)
		if !strings.HasPrefix(out, "Usage: doorstep "+c.path) || !strings.Contains(out, "Examples:\n  doorstep ") {
			t.Errorf("doorstep %s --help = %q", c.path, out)
		}
	}
	if out := e.ok("volunteer", "--help"); !strings.Contains(out, "doorstep volunteer pause") {
		t.Errorf("volunteer --help = %q", out)
	}
}

// TestDiskFullSentence: a server whose disk is full refuses plainly
// (RESOURCE_EXHAUSTED, STORAGE_FULL); the helpline worker is told that
// nothing was saved and whom to tell, not "too much at once", which reads
// as their own fault.
func TestDiskFullSentence(t *testing.T) {
	st, err := status.New(codes.ResourceExhausted, "the server's disk is full, so this was not done and nothing was changed: "+
		"tell whoever runs the server, and try again once they have freed space").WithDetails(&errdetails.ErrorInfo{Reason: server.ReasonStorageFull, Domain: "doorstep.v1"})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{ctx: context.Background(), command: "request new"}
	msg, code := a.describe(fmt.Errorf("client: create help request: %w", st.Err()))
	want := "The server's disk is full, so this was not done and nothing was changed (STORAGE_FULL); tell whoever runs the server, and try again once they have freed space."
	if msg != want || code != exitFailed {
		t.Errorf("disk full: %q, exit %d\nwant %q, exit %d", msg, code, want, exitFailed)
	}
}

// TestImportStoppedByAFullDisk: rows sent before the disk filled are
// stored, so an import is not told "nothing was changed".
func TestImportStoppedByAFullDisk(t *testing.T) {
	st, err := status.New(codes.ResourceExhausted, "the server's disk is full").WithDetails(&errdetails.ErrorInfo{Reason: server.ReasonStorageFull, Domain: "doorstep.v1"})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{ctx: context.Background(), command: "request import"}
	got := a.importStopped(fmt.Errorf("client: import: %w", st.Err()))
	want := "The import stopped part way: the server's disk is full, so the rows from there on were not stored (STORAGE_FULL). " +
		"Tell whoever runs the server; once they have freed space, run the same file again to finish it: rows already stored are not stored twice."
	if got.msg != want || got.code != exitFailed {
		t.Errorf("import stopped by a full disk: %q, exit %d\nwant %q, exit %d", got.msg, got.code, want, exitFailed)
	}
}
