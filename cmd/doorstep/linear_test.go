package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestLinearOutput: a screen reader reads a table a line at a time, with
// nothing to say which heading a cell sits under ("01jq... open high
// grocery shopping, prescription collection Wed 11 Mar 10:00-12:00 AB10
// 1AB -"), a braille display or a magnifier of 40 columns shows a few
// cells of a row and none of its headings, and a dash for "none" is
// spoken as nothing or as "dash". Given --linear (or DOORSTEP_LINEAR=1,
// set once), every command says each value after its label, one to a
// line, a record at a time, and says "none" in words; nothing is padded
// into columns.
func TestLinearOutput(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	req := e.newRequest("--skills", "driver")
	e.ok("request", "new", "--postcode", "AB10 1AB", "--needs", "befriending", "--deadline", "2026-03-12T18:00", "--remote-ok",
		"--name", "Margaret Ironside", "--phone", "+44 1224 123456", "--org", org)

	// Each record of a list says which it is, and each value its label.
	out := e.ok("request", "list", "--near", "AB10 1AB", "--linear")
	if !regexp.MustCompile(`(?m)^Request 1 of 2\nID: ` + idRE.String() + `\nState: open\n`).MatchString(out) {
		t.Errorf("request list --linear:\n%s\nwant each request numbered, and its values labelled", out)
	}

	var transcript strings.Builder
	say := func(env bool, args ...string) {
		t.Helper()
		if env {
			e.env["DOORSTEP_LINEAR"] = "1"
			defer delete(e.env, "DOORSTEP_LINEAR")
		} else {
			args = append(args, "--linear")
		}
		out := e.ok(args...)
		transcript.WriteString("$ doorstep " + strings.Join(args, " ") + "\n" + out + "\n")
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(strings.TrimLeft(line, " "), "  ") {
				t.Errorf("doorstep %s: a line laid out in columns:\n%q", strings.Join(args, " "), line)
			}
			if strings.HasSuffix(line, ": -") || line == "-" {
				t.Errorf("doorstep %s: a dash for none:\n%q", strings.Join(args, " "), line)
			}
			// "1/2" is read as "one half", or as a date.
			if m := regexp.MustCompile(`\b\d+/\d+\b`).FindString(line); m != "" {
				t.Errorf("doorstep %s: %q read as a fraction:\n%q", strings.Join(args, " "), m, line)
			}
		}
	}
	say(false, "request", "list", "--near", "AB10 1AB")
	say(true, "request", "find", "--phone", "01224 123456")
	say(false, "request", "candidates", req)
	say(false, "offer", "make", req, callum)
	say(false, "offer", "list", "--state", "pending")
	say(false, "request", "show", req)
	say(true, "volunteer", "show", callum)
	say(false, "volunteer", "list", "--near", "AB10")
	say(false, "volunteer", "find", "--phone", "07700 900123")
	golden(t, "linear", transcript.String())

	// --json wins: scripts get the same JSON whatever the environment.
	e.env["DOORSTEP_LINEAR"] = "1"
	if json, plain := e.ok("request", "list", "--near", "AB10 1AB", "--json"), e.ok("request", "list", "--near", "AB10 1AB", "--json", "--linear=false"); json != plain || !strings.HasPrefix(json, "[") {
		t.Errorf("--json under DOORSTEP_LINEAR:\n%s\nwant the JSON array", json)
	}
	// --linear=false turns a DOORSTEP_LINEAR of the profile off for one command.
	if out := e.ok("request", "list", "--near", "AB10 1AB", "--linear=false"); !strings.HasPrefix(out, "ID  ") {
		t.Errorf("--linear=false:\n%s\nwant the table", out)
	}
}

// TestWatchLinear: under --linear an event's line is a phrase a screen
// reader can speak: no columns padded with spaces, a change of state in
// words rather than "open -> offered" (read "open dash greater than
// offered"), and the organisation named as such rather than in brackets.
func TestWatchLinear(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	e.ok("offer", "make", req, callum)

	lines, code := e.watchUntil(5, "--from", "1", "--linear")
	if code != 0 {
		t.Errorf("watch exit %d after Ctrl-C, want 0", code)
	}
	for _, l := range lines {
		if strings.Contains(l, "  ") || strings.Contains(l, "->") || strings.Contains(l, "[") {
			t.Errorf("watch --linear line %q: columns or symbols", l)
		}
	}
	if want := "Revision 4, Tue 10 Mar 09:00:03, help request state changed, " + req + ", from open to offered, organisation " + org; len(lines) < 5 || lines[4] != want {
		t.Errorf("watch --linear:\n%s\nwant line 5 %q", strings.Join(lines, "\n"), want)
	}
}

// TestLinearHelp: under DOORSTEP_LINEAR, set once in the profile, the
// help was still laid out in columns: each command's or option's summary
// padded out to the right of the longest name, so that a braille display
// or a magnifier of 40 columns shows a name and blank cells, and the
// summary a screen of scrolling away. The list of commands and of a
// command's options says each summary after its name, as --linear says
// every value after its label.
func TestLinearHelp(t *testing.T) {
	e := newTestEnv(t)
	e.env["DOORSTEP_LINEAR"] = "1"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "doorstep request new: "},
		{[]string{"help", "request"}, "doorstep request new: "},
		{[]string{"request", "new", "--help"}, "--postcode value: "},
	} {
		out := e.ok(tc.args...)
		if !strings.Contains(out, "\n"+tc.want) {
			t.Errorf("doorstep %s under DOORSTEP_LINEAR:\n%s\nwant a line starting %q", strings.Join(tc.args, " "), out, tc.want)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimLeft(line, " "), "doorstep ") && strings.Contains(strings.TrimLeft(line, " "), "  ") {
				t.Errorf("doorstep %s: a line laid out in columns:\n%q", strings.Join(tc.args, " "), line)
			}
		}
	}
}

// TestLinearImportHelp: import --help lists a CSV file's columns, each
// name padded out to its description, which under DOORSTEP_LINEAR was
// the one list of the help still in columns.
func TestLinearImportHelp(t *testing.T) {
	e := newTestEnv(t)
	e.env["DOORSTEP_LINEAR"] = "1"
	out := e.ok("import", "--help")
	if !strings.Contains(out, "\nexternal_id: ") {
		t.Errorf("import --help under DOORSTEP_LINEAR:\n%s\nwant each column's name, a colon, then what it holds", out)
	}
}

// TestLinearHelpConnection: under DOORSTEP_LINEAR the list of commands
// was said linearly, but the connection options below it (--addr, --cert,
// --linear itself) were still padded into a column of summaries 21
// characters in, their summaries wrapped onto lines of blanks: on a
// 40-column braille display, half a line of nothing before each. They
// are said as the commands are, each summary after its option.
func TestLinearHelpConnection(t *testing.T) {
	e := newTestEnv(t)
	e.env["DOORSTEP_LINEAR"] = "1"
	out := e.ok("help")
	for _, want := range []string{"--addr HOST:PORT: ", "--cert FILE --key FILE: ", "--linear: ", "DOORSTEP_ORG: "} {
		if !strings.Contains(out, "\n"+want) {
			t.Errorf("doorstep help under DOORSTEP_LINEAR:\n%s\nwant a line starting %q", out, want)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(strings.TrimLeft(line, " "), "  ") || strings.HasPrefix(line, "     ") {
			t.Errorf("doorstep help under DOORSTEP_LINEAR: a line laid out in columns:\n%q", line)
		}
	}

	// Without it the options stay in their columns.
	delete(e.env, "DOORSTEP_LINEAR")
	if out := e.ok("help"); !strings.Contains(out, "\n  --addr HOST:PORT   the server") {
		t.Errorf("doorstep help:\n%s\nwant the connection options in columns", out)
	}
}

// TestLinearAfterHelp: flags go before or after the command, but
// --linear typed after --help ("doorstep request new --help --linear",
// as a worker adds it on seeing the columns) was never read: the flag
// package stops at --help, so the help came in columns all the same. It
// is read wherever it is typed, and --linear=false after it still wins
// over DOORSTEP_LINEAR.
func TestLinearAfterHelp(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct {
		env        bool
		args       []string
		want, omit string
	}{
		{false, []string{"request", "new", "--help", "--linear"}, "\n--yes: ", "\n  --yes  "},
		{false, []string{"request", "new", "-help", "-linear=true"}, "\n--yes: ", "\n  --yes  "},
		{false, []string{"admin", "--help", "--linear"}, "\ndoorstep admin backup: ", "\n  doorstep admin backup  "},
		{false, []string{"--help", "--linear"}, "\ndoorstep admin backup: ", "\n  doorstep admin backup  "},
		{true, []string{"request", "new", "--help", "--linear=false"}, "\n  --yes  ", "\n--yes: "},
		{false, []string{"request", "new", "--help"}, "\n  --yes  ", "\n--yes: "},
	} {
		if tc.env {
			e.env["DOORSTEP_LINEAR"] = "1"
		}
		out := e.ok(tc.args...)
		delete(e.env, "DOORSTEP_LINEAR")
		if !strings.Contains(out, tc.want) || strings.Contains(out, tc.omit) {
			t.Errorf("doorstep %s (DOORSTEP_LINEAR %v):\n%s\nwant %q, not %q", strings.Join(tc.args, " "), tc.env, out, tc.want, tc.omit)
		}
	}
}
