package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/doorstep-aid/doorstep/client"
)

// defaultAddr matches doorstepd's default --listen.
const defaultAddr = "localhost:50051"

// config is what every command shares: where the server is and how to
// talk to it.
type config struct {
	addr   string
	token  string
	useTLS bool
	caFile string
	// certFile and keyFile are this computer's client certificate, for a
	// server that asks for one (doorstepd --tls-client-ca).
	certFile string
	keyFile  string
	insecure bool
	json     bool
	// linear is --linear, or DOORSTEP_LINEAR: labelled values one to a
	// line instead of tables (table.linear).
	linear  bool
	timeout time.Duration
	// timeoutSet says --timeout was given: a command that waits longer
	// than most by its nature (an erasure) keeps to it then.
	timeoutSet bool
	org        string
}

// app is one invocation of the command: its streams, clock and connection.
type app struct {
	ctx    context.Context
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time

	cfg     config
	conn    *client.Client
	secure  bool      // conn speaks TLS, for the sentences of a failed connection
	prompt  *prompter // nil unless stdin is a terminal
	command string    // the command being run, "request new", for messages
}

// run is the whole program with its surroundings passed in, so that tests
// drive it in-process. It returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runAt(ctx, args, getenv, stdin, stdout, stderr, time.Now)
}

// defaultTimeout is how long a command waits for each answer without
// --timeout (a variable for tests).
var defaultTimeout = 30 * time.Second

// runAt is run with a clock, which tests fix so that "tomorrow" and the
// times printed are the same on every run.
func runAt(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer, now func() time.Time) int {
	out, errOut := &inertWriter{w: stdout}, &inertWriter{w: stderr}
	defer out.flush()
	defer errOut.flush()
	stdout, stderr = out, errOut
	a := &app{ctx: ctx, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, now: now}
	a.cfg = config{
		addr:    envOr(getenv, "DOORSTEP_ADDR", defaultAddr),
		token:   getenv("DOORSTEP_TOKEN"),
		org:     getenv("DOORSTEP_ORG"),
		linear:  envOn(getenv("DOORSTEP_LINEAR")),
		timeout: defaultTimeout,
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		a.prompt = newPrompter(ctx, stdin, stderr)
	}
	err := a.dispatch(args)
	if a.conn != nil {
		_ = a.conn.Close()
	}
	if err == nil {
		return exitOK
	}
	msg, code := a.describe(err)
	if msg != "" {
		fmt.Fprintln(stderr, msg)
	}
	return code
}

// envOn reads a switch set in the environment, as NO_COLOR is: on when
// set to anything but a word for off.
func envOn(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

func envOr(getenv func(string) string, name, def string) string {
	if v := strings.TrimSpace(getenv(name)); v != "" {
		return v
	}
	return def
}

// commandFunc runs one command with the arguments after its name.
type commandFunc func(a *app, args []string) error

type command struct {
	path    string // "request new"
	summary string
	run     commandFunc
}

// commands is the table `doorstep help` prints, in that order.
var commands []command

func init() {
	commands = []command{
		{"request new", "take a new request for help (asks for each detail on a terminal)", (*app).requestNew},
		{"request find", "a caller's earlier requests, by phone number", (*app).requestFind},
		{"request show", "one request: its state, offer and volunteer", (*app).requestShow},
		{"request list", "requests still in hand (or in a state), by urgency or near a postcode", (*app).requestList},
		{"request edit", "change a request's details: only those given", (*app).requestEdit},
		{"request candidates", "who could help with a request, best first, and why nobody else", (*app).requestCandidates},
		{"request cancel", "withdraw a request (frees its volunteer)", (*app).requestCancel},
		{"request fulfil", "mark an assigned request as done", (*app).requestFulfil},
		{"request release", "the volunteer cannot go: open the request again for someone else", (*app).requestRelease},
		{"offer make", "hold a request for one volunteer until they answer", (*app).offerMake},
		{"offer accept", "the volunteer said yes: assign the request to them", (*app).offerAccept},
		{"offer decline", "the volunteer said no: the request is open again", (*app).offerDecline},
		{"offer list", "a volunteer's or a request's offers, or all pending ones", (*app).offerList},
		{"dispatch", "offer every open request to a volunteer now (admin or coordinator token)", (*app).dispatchNow},
		{"volunteer add", "register a volunteer", (*app).volunteerAdd},
		{"volunteer find", "the volunteer who rang, by phone number", (*app).volunteerFind},
		{"volunteer show", "one volunteer", (*app).volunteerShow},
		{"volunteer edit", "change a volunteer's details: times, dates away, DBS check, skills, phone, home", (*app).volunteerEdit},
		{"volunteer pause", "offer a volunteer nothing until resumed", (*app).volunteerPause},
		{"volunteer resume", "a paused volunteer can be offered requests again", (*app).volunteerResume},
		{"volunteer hold", "a coordinator's hold: offered nothing, and only a coordinator lifts it", (*app).volunteerHold},
		{"volunteer unhold", "lift a coordinator's hold", (*app).volunteerUnhold},
		{"volunteer list", "volunteers living near a postcode, sector or district", (*app).volunteerList},
		{"volunteer delete", "remove a volunteer who has left, and stop their tokens", (*app).volunteerDelete},
		{"import", "bulk intake from a CSV or JSON Lines file, idempotent by external_id", (*app).importFile},
		{"watch", "print the live event stream, one line per event", (*app).watch},
		{"admin token create", "issue a token and show its secret, once", (*app).adminTokenCreate},
		{"admin token list", "every token: holder, role, expiry, revocation", (*app).adminTokenList},
		{"admin token revoke", "stop a token working, at once", (*app).adminTokenRevoke},
		{"admin org create", "register an organisation, for partner tokens", (*app).adminOrgCreate},
		{"admin org list", "the registered organisations", (*app).adminOrgList},
		{"admin audit", "who read or changed personal data, newest first", (*app).adminAudit},
		{"admin export", "everything held about a person, by phone number", (*app).adminExport},
		{"admin erase", "erase a person's personal data, by phone number", (*app).adminErase},
		{"admin backup", "have the server back up its data file, while it runs", (*app).adminBackup},
		{"help", "usage of all commands or of one", (*app).help},
	}
}

// groupAliases and subAliases forgive the spellings people reach for.
var (
	groupAliases = map[string]string{"requests": "request", "req": "request", "volunteers": "volunteer", "vol": "volunteer", "offers": "offer",
		"tokens": "token", "orgs": "org", "organisation": "org", "organisations": "org", "organization": "org", "organizations": "org"}
	subAliases = map[string]string{
		"fulfill": "fulfil", "complete": "fulfil", "done": "fulfil", "unassign": "release", "handback": "release", "create": "new", "get": "show", "view": "show",
		"ls": "list", "search": "find", "match": "candidates", "new": "add", "add": "new", "register": "add", "stop": "pause", "unpause": "resume", "change": "edit", "update": "edit",
	}
)

func (a *app) dispatch(args []string) error {
	top := a.flagSet("doorstep")
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.linearAfterHelp(top.Args())
			a.printHelp(a.stdout)
			return nil
		}
		return usageErrorf("%s; see doorstep help", flagProblem(top, err))
	}
	rest := top.Args()
	if len(rest) == 0 {
		a.printHelp(a.stderr)
		return &cliError{code: exitUsage}
	}
	if c, n := findCommand(rest); c != nil {
		a.command = c.path
		return c.run(a, rest[n:])
	}
	// No command: the words may name a group ("admin", "admin token"),
	// whose commands are listed, or be a mistake.
	group, n := findGroup(rest)
	if group == "" {
		if s := suggest(strings.ToLower(rest[0])); s != "" {
			return usageErrorf("unknown command %q: did you mean %q? See doorstep help", rest[0], s)
		}
		return usageErrorf("unknown command %q; see doorstep help", rest[0])
	}
	var subs []string
	var first string
	for _, c := range commands {
		if sub, ok := strings.CutPrefix(c.path, group+" "); ok {
			if first == "" {
				first = c.path
			}
			next, _, _ := strings.Cut(sub, " ")
			if !slices.Contains(subs, next) {
				subs = append(subs, next)
			}
		}
	}
	if len(rest) > n && isHelpFlag(rest[n]) {
		a.linearAfterHelp(rest[n+1:])
		fmt.Fprintf(a.stdout, "Commands of doorstep %s:\n", group)
		tw := a.newFields(a.stdout)
		for _, c := range commands {
			if strings.HasPrefix(c.path, group+" ") {
				tw.row("  doorstep "+c.path, c.summary)
			}
		}
		_ = tw.flush()
		fmt.Fprintf(a.stdout, "\nRun \"doorstep %s --help\" for one command's options and examples.\n", first)
		return nil
	}
	if len(rest) == n {
		return usageErrorf("doorstep %s needs one of: %s; see doorstep help %s", group, strings.Join(subs, ", "), group)
	}
	return usageErrorf("doorstep %s has no %q: use one of %s", group, rest[n], strings.Join(subs, ", "))
}

// spellings are the words a typed word may stand for: itself and its
// aliases.
func spellings(word string) []string {
	w := strings.ToLower(word)
	out := []string{w}
	for _, m := range []map[string]string{groupAliases, subAliases} {
		if alias, ok := m[w]; ok {
			out = append(out, alias)
		}
	}
	return out
}

// matchWords reports whether args begin with the words of path.
func matchWords(args []string, path string) bool {
	words := strings.Fields(path)
	if len(args) < len(words) {
		return false
	}
	for i, w := range words {
		if !slices.Contains(spellings(args[i]), w) {
			return false
		}
	}
	return true
}

// findCommand returns the command whose path the arguments begin with,
// the longest when several do ("admin token create" before a command
// named "admin token"), and how many words its path has.
func findCommand(args []string) (*command, int) {
	var best *command
	n := 0
	for i := range commands {
		c := &commands[i]
		if k := len(strings.Fields(c.path)); k > n && matchWords(args, c.path) {
			best, n = c, k
		}
	}
	return best, n
}

// findGroup returns the longest group ("admin token") that the arguments
// begin with, as spelt in the table, and its number of words.
func findGroup(args []string) (string, int) {
	group, n := "", 0
	for _, c := range commands {
		words := strings.Fields(c.path)
		for k := len(words) - 1; k > n; k-- {
			if g := strings.Join(words[:k], " "); matchWords(args, g) {
				group, n = g, k
				break
			}
		}
	}
	return group, n
}

func isHelpFlag(s string) bool {
	return s == "-h" || s == "--help" || s == "-help" || s == "help"
}

// suggest returns the command group nearest a mistyped word.
func suggest(word string) string {
	best, bestD := "", 3
	seen := map[string]bool{}
	for _, c := range commands {
		group, _, _ := strings.Cut(c.path, " ")
		if seen[group] {
			continue
		}
		seen[group] = true
		if d := editDistance(word, group); d < bestD {
			best, bestD = group, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// globalFlags are accepted before the command and by every command.
var globalFlags = map[string]bool{"addr": true, "token": true, "tls": true, "ca-file": true, "cert": true, "key": true, "insecure": true, "json": true, "linear": true, "timeout": true}

// flagSet returns a flag set with the global flags bound to a.cfg, so that
// they work before or after the command's own.
func (a *app) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.cfg.addr, "addr", a.cfg.addr, "server address host:port (env DOORSTEP_ADDR)")
	fs.StringVar(&a.cfg.token, "token", a.cfg.token, "bearer token (env DOORSTEP_TOKEN)")
	fs.BoolVar(&a.cfg.useTLS, "tls", a.cfg.useTLS, "use TLS even on loopback")
	fs.StringVar(&a.cfg.caFile, "ca-file", a.cfg.caFile, "PEM file of the CA that signed the server's certificate (implies --tls)")
	fs.StringVar(&a.cfg.certFile, "cert", a.cfg.certFile, "PEM client certificate, for a server that asks for one (implies --tls)")
	fs.StringVar(&a.cfg.keyFile, "key", a.cfg.keyFile, "PEM private key of --cert")
	fs.BoolVar(&a.cfg.insecure, "insecure", a.cfg.insecure, "plaintext to a server that is not on loopback (never over the internet)")
	fs.BoolVar(&a.cfg.json, "json", a.cfg.json, "print protobuf JSON instead of a table")
	fs.BoolVar(&a.cfg.linear, "linear", a.cfg.linear, "each value after its label, one to a line, instead of tables (env DOORSTEP_LINEAR)")
	fs.Var(timeoutFlag{&a.cfg}, "timeout", "how long to wait for each answer from the server")
	return fs
}

// timeoutFlag is --timeout, noting that it was given.
type timeoutFlag struct{ cfg *config }

func (f timeoutFlag) String() string {
	if f.cfg == nil {
		return ""
	}
	return f.cfg.timeout.String()
}

// Get makes a bad value read as one for a length (flagProblem).
func (f timeoutFlag) Get() any { return f.cfg.timeout }

func (f timeoutFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("parse error")
	}
	if d <= 0 {
		// Taken as it stood, 0 or less was no limit at all for most
		// commands (a cron job that may hang for ever) and an answer
		// never waited for in admin backup and erase.
		return fmt.Errorf("takes a length above 0 such as 30s or 2m, not %s", s)
	}
	f.cfg.timeout, f.cfg.timeoutSet = d, true
	return nil
}

// usage is a command's help text.
type usage struct {
	synopsis string // "doorstep request show ID"
	text     string // what it does, in a sentence or two
	examples []string
	// absent says, of options the command does not have but someone may
	// reach for (an edit's --org), what to do instead, in place of only
	// "there is no such option".
	absent map[string]string
}

// parse parses flags and positional arguments in any order ("show ID
// --json" as well as "show --json ID"). It returns the positionals.
func (a *app) parse(fs *flag.FlagSet, u usage, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				a.linearAfterHelp(fs.Args())
				a.printUsage(a.stdout, fs, u)
				return nil, errHelpShown
			}
			if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok && u.absent[name] != "" {
				return nil, usageErrorf("there is no --%s option: %s", name, u.absent[name])
			}
			return nil, usageErrorf("%s; see %s --help", flagProblem(fs, err), commandOf(u.synopsis))
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// linearAfterHelp reads --linear among the arguments after --help, where
// the flag package stops: flags go before or after the command, and
// someone who meets the help in columns adds --linear at the end.
func (a *app) linearAfterHelp(args []string) {
	for _, arg := range args {
		if arg == "--" {
			return
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-"), "=")
		if !strings.HasPrefix(arg, "-") || name != "linear" {
			continue
		}
		if !hasVal {
			a.cfg.linear = true
		} else if on, err := strconv.ParseBool(val); err == nil {
			a.cfg.linear = on
		}
	}
}

// commandOf is the command part of a synopsis: "doorstep request show".
func commandOf(synopsis string) string {
	var words []string
	for _, w := range strings.Fields(synopsis) {
		if strings.HasPrefix(w, "[") || strings.HasPrefix(w, "-") || strings.ToUpper(w) == w {
			break
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

// flagProblem rewords the flag package's errors for people: a bad value
// is named with the kind of value the option takes, never in the flag
// package's words ("invalid value ... parse error").
func flagProblem(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return fmt.Sprintf("there is no --%s option", name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return fmt.Sprintf("--%s needs a value", name)
	}
	if rest, ok := strings.CutPrefix(msg, "invalid boolean value "); ok {
		// invalid boolean value "maybe" for -tls: parse error
		value, name, _ := cutFlagValue(rest, " for -")
		return fmt.Sprintf("--%s is a switch: give it alone, or as --%s=true or --%s=false, not %s", name, name, name, value)
	}
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		// invalid value "2" for flag -lease: parse error
		value, name, why := cutFlagValue(rest, " for flag -")
		var kind any
		if f := fs.Lookup(name); f != nil {
			if g, ok := f.Value.(flag.Getter); ok {
				kind = g.Get()
			}
		}
		switch kind.(type) {
		case time.Duration:
			if why != "" && why != "parse error" {
				return fmt.Sprintf("--%s %s", name, why) // the option's own sentence
			}
			return fmt.Sprintf("--%s takes a length such as 30m or 2h, not %s", name, value)
		case int, int64, uint, uint64:
			return fmt.Sprintf("--%s takes a whole number, not %s", name, value)
		case float64:
			return fmt.Sprintf("--%s takes a number such as 57.14, not %s", name, value)
		}
		if why != "" && why != "parse error" && why != "value out of range" {
			return fmt.Sprintf("--%s: %s", name, why) // an option's own sentence
		}
		return fmt.Sprintf("--%s cannot be %s", name, value)
	}
	return msg
}

// cutFlagValue splits the rest of a flag error, `"2" for flag -lease: parse
// error`, into the value as quoted, the option's name and the reason.
func cutFlagValue(rest, sep string) (value, name, why string) {
	value, after, _ := strings.Cut(rest, sep)
	name, why, _ = strings.Cut(after, ": ")
	return value, name, why
}

var errHelpShown = errors.New("help shown")

func (a *app) printUsage(w io.Writer, fs *flag.FlagSet, u usage) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", u.synopsis, u.text)
	if len(u.examples) > 0 {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, e := range u.examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	var own []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if !globalFlags[f.Name] {
			own = append(own, f)
		}
	})
	if len(own) > 0 {
		fmt.Fprintf(w, "\nOptions:\n")
		// Under --linear as every table is: an option's summary padded
		// far to the right of its name is off a 40-column display.
		tw := a.newFields(w)
		for _, f := range own {
			arg, help := flag.UnquoteUsage(f)
			if arg != "" {
				arg = " " + arg
			}
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
				help += " (default " + f.DefValue + ")"
			}
			tw.row("  --"+f.Name+arg, help)
		}
		_ = tw.flush()
	}
	fmt.Fprintf(w, "\nAlso: --addr --token --tls --ca-file --cert --key --insecure --json --linear --timeout (see doorstep help).\n")
}

func (a *app) printHelp(w io.Writer) {
	fmt.Fprintf(w, "doorstep: the Doorstep helpline and operations client.\n\nCommands:\n")
	tw := a.newFields(w)
	for _, c := range commands {
		tw.row("  doorstep "+c.path, c.summary)
	}
	_ = tw.flush()
	fmt.Fprint(w, `
Run "doorstep COMMAND --help" (e.g. "doorstep request new --help") for its options and examples.

Connection (flags before or after the command; environment in brackets):
`)
	for _, o := range connectionHelp {
		switch {
		case a.cfg.linear:
			// Each summary after its option, as the commands above: a
			// column of summaries 21 characters in is half a 40-column
			// braille display of blanks before each.
			fmt.Fprintf(w, "%s: %s\n", o[0], strings.Join(o[1:], " "))
		case len(o[0]) > connectionColumn:
			fmt.Fprintf(w, "  %s\n", o[0])
			for _, l := range o[1:] {
				fmt.Fprintf(w, "  %-*s %s\n", connectionColumn, "", l)
			}
		default:
			fmt.Fprintf(w, "  %-*s %s\n", connectionColumn, o[0], o[1])
			for _, l := range o[2:] {
				fmt.Fprintf(w, "  %-*s %s\n", connectionColumn, "", l)
			}
		}
	}
	fmt.Fprint(w, `
Exit codes: 0 done; 1 the server refused, an import row failed, or an erasure's last step failed;
2 bad input or usage; 3 not found; 4 cannot reach the server; 5 not allowed (check the token);
130 interrupted.
`)
}

// connectionColumn is how wide the options' column of doorstep help is.
const connectionColumn = 18

// connectionHelp is the connection options doorstep help lists: each
// option, then its summary in the lines a table shows it in.
var connectionHelp = [][]string{
	{"--addr HOST:PORT", "the server (DOORSTEP_ADDR, default " + defaultAddr + ")"},
	{"--token TOKEN", "bearer token (DOORSTEP_TOKEN)"},
	{"--tls", "use TLS; the default except for loopback addresses"},
	{"--ca-file FILE", "trust this CA's PEM certificate (implies --tls)"},
	{"--cert FILE --key FILE", "this computer's PEM client certificate and key, for a server that asks",
		"for one (doorstepd --tls-client-ca; implies --tls)"},
	{"--insecure", "plaintext to a server that is not on loopback"},
	{"--timeout 30s", "how long to wait for each answer; unless given, import waits 5m for each",
		"batch, admin erase and backup 10m; a late save is asked again for at least 30s"},
	{"--json", "protobuf JSON output for scripts"},
	{"--linear", "each value after its label, one to a line, instead of tables: for a screen",
		"reader, a braille display or a narrow window (DOORSTEP_LINEAR=1 for every command)"},
	{"DOORSTEP_ORG", "the organisation for new requests and imports when --org is not given"},
}

func (a *app) help(args []string) error {
	if len(args) == 0 {
		a.printHelp(a.stdout)
		return nil
	}
	// "help request new" is "request new --help".
	return a.dispatch(append(args, "--help"))
}

// client dials on first use, so that help and local errors need no server.
func (a *app) client() (*client.Client, error) {
	if a.conn != nil {
		return a.conn, nil
	}
	addr, host := dialAddr(a.cfg.addr)
	opts := []client.Option{client.WithCallTimeout(a.cfg.timeout)}
	// A token read from a file edited on Windows, or an EnvironmentFile
	// with CRLF lines, ends in a carriage return or newline, which gRPC
	// refuses to send at all; no token has white space of its own.
	if tok := strings.TrimSpace(a.cfg.token); tok != "" {
		opts = append(opts, client.WithToken(tok))
	}
	wantTLS := a.cfg.useTLS || a.cfg.caFile != "" || a.cfg.certFile != ""
	switch {
	case (a.cfg.certFile == "") != (a.cfg.keyFile == ""):
		return nil, usageErrorf("--cert and --key go together: give the client certificate and its private key")
	case a.cfg.insecure && wantTLS:
		return nil, usageErrorf("--insecure turns TLS off: give it without --tls, --ca-file, --cert and --key")
	case wantTLS || (!a.cfg.insecure && !isLoopback(host)):
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if a.cfg.caFile != "" {
			pem, err := readFlagFile("--ca-file", a.cfg.caFile)
			if err != nil {
				return nil, err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, usageErrorf("--ca-file %s holds no PEM certificate", a.cfg.caFile)
			}
			tc.RootCAs = pool
		}
		if a.cfg.certFile != "" {
			cert, err := a.clientCertificate()
			if err != nil {
				return nil, err
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, client.WithTLS(tc))
		a.secure = true
	default:
		opts = append(opts, client.WithInsecure())
	}
	c, err := client.Dial(a.ctx, addr, opts...)
	if err != nil {
		return nil, &cliError{code: exitUnreachable, msg: fmt.Sprintf("Cannot connect to the Doorstep server at %s: %v.", addr, err)}
	}
	a.conn = c
	return c, nil
}

// readFlagFile reads the file an option names, saying in a sentence why
// it cannot.
func readFlagFile(flag, path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, usageErrorf("cannot read %s %s: there is no such file", flag, path)
	case errors.As(err, &pe):
		return nil, usageErrorf("cannot read %s %s: %v", flag, path, pe.Err)
	case err != nil:
		return nil, usageErrorf("cannot read %s %s", flag, path)
	}
	return raw, nil
}

// clientCertificate reads --cert and --key.
func (a *app) clientCertificate() (tls.Certificate, error) {
	certPEM, err := readFlagFile("--cert", a.cfg.certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := readFlagFile("--key", a.cfg.keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	switch {
	case err != nil && encryptedKey(keyPEM):
		return cert, usageErrorf("the private key in --key %s is encrypted with a passphrase, which doorstep cannot ask for: make a copy without it that only you can read (openssl pkey -in %[1]s -out NEW.key) and give that", a.cfg.keyFile)
	case err != nil && strings.Contains(err.Error(), "does not match"):
		return cert, usageErrorf("cannot use --cert %s with --key %s: the key is not the certificate's", a.cfg.certFile, a.cfg.keyFile)
	case err != nil:
		return cert, usageErrorf("cannot use --cert %s with --key %s: they must be a PEM certificate and its PEM private key", a.cfg.certFile, a.cfg.keyFile)
	}
	// The server's refusal of a certificate out of date can reach this
	// computer only as a broken connection (see clientCertSentence), so
	// it is said here, against the clock the handshake is checked by.
	switch now := time.Now(); {
	case now.After(cert.Leaf.NotAfter):
		return cert, usageErrorf("the client certificate in --cert %s expired on %s: ask for a new one, or check this computer's clock", a.cfg.certFile, cert.Leaf.NotAfter.UTC().Format("2 January 2006"))
	case now.Before(cert.Leaf.NotBefore):
		return cert, usageErrorf("the client certificate in --cert %s is not valid until %s: check this computer's clock", a.cfg.certFile, cert.Leaf.NotBefore.UTC().Format("2 January 2006 15:04 MST"))
	}
	return cert, nil
}

// encryptedKey says whether keyPEM holds a private key sealed with a
// passphrase: PKCS #8's ENCRYPTED PRIVATE KEY, or OpenSSL's older
// Proc-Type header. Go reads neither, and "not a PEM private key" would
// send the worker looking for another file.
func encryptedKey(keyPEM []byte) bool {
	for rest := keyPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return false
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || (strings.HasSuffix(b.Type, "PRIVATE KEY") && strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED")) {
			return true
		}
	}
}

// dialAddr is the host:port to dial for --addr, and its host.
func dialAddr(addr string) (dial, host string) {
	addr = strings.TrimSpace(addr)
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		// "myserver" alone: the port people forget is the default one.
		// An IPv6 address may come bracketed without it, "[::1]", as
		// it is written in a URL.
		host = addr
		if inner, ok := strings.CutPrefix(addr, "["); ok && strings.HasSuffix(inner, "]") {
			host = strings.TrimSuffix(inner, "]")
		}
		addr = net.JoinHostPort(host, "50051")
	}
	return addr, host
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	// "::1%lo", zoned as ip(8) prints it, is loopback too.
	ip, _, _ := strings.Cut(host, "%")
	parsed := net.ParseIP(ip)
	return parsed != nil && parsed.IsLoopback()
}

// sortedKeys is for messages that list map keys in a stable order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
