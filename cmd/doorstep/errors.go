package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doorstep-aid/doorstep/client"
	"github.com/doorstep-aid/doorstep/phone"
	"github.com/doorstep-aid/doorstep/server"
)

// Exit codes, for scripts. Written down in the package doc and the help;
// change all three together.
const (
	exitOK          = 0
	exitFailed      = 1 // the server refused (wrong state, already exists...), an import row failed, or an erasure's last step failed
	exitUsage       = 2 // bad flags, bad input, or the server said INVALID_ARGUMENT
	exitNotFound    = 3
	exitUnreachable = 4 // cannot connect, or no answer in time
	exitDenied      = 5 // UNAUTHENTICATED or PERMISSION_DENIED
	exitInterrupted = 130
)

// cliError is an error already phrased for the person at the keyboard.
type cliError struct {
	code int
	msg  string // one sentence; empty when something was printed already
}

func (e *cliError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &cliError{code: exitUsage, msg: sentence(fmt.Sprintf(format, args...))}
}

// sentence capitalises s and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	s = string(r)
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// describe turns any error into one sentence and an exit code. Nothing
// here prints a stack or a Go error chain: the reader is on the phone.
// tryAgain closes the answer to a call that timed out. A write that may
// have been done all the same (a new request, an erasure) drops it
// (mayHaveBeenDone): done twice, it is a duplicate or a false answer.
const tryAgain = "Try again, or give a longer --timeout."

// mayHaveBeenDone is msg, the answer to a write whose answer was lost,
// without the invitation to try again, and with what to look at first.
func mayHaveBeenDone(msg, lookFirst string) string {
	return strings.TrimSuffix(strings.TrimSuffix(msg, tryAgain), " ") + " " + lookFirst
}

// answerLost is err, when its answer was lost (the server unreachable
// or the command interrupted) with the write perhaps done, told with
// lookFirst, what to look at before doing it again; otherwise nil. A
// write made again blindly may be a second request, a second volunteer
// record, or a live token whose secret nobody has.
func (a *app) answerLost(err error, lookFirst string) error {
	if err == nil {
		return nil
	}
	if msg, code := a.describe(err); code == exitUnreachable || code == exitInterrupted {
		return &cliError{code: code, msg: mayHaveBeenDone(msg, lookFirst)}
	}
	return nil
}

// askAgainAfterTimeout makes create, a call that sends the same
// request_id each time under ctx, and makes it once more if its answer did
// not come within --timeout: on a slow disk a save the server had begun
// ended only after the command gave up, and what the command then said to
// look at first did not show it yet. Asked again, the server answers with
// what it saved, once, after that save's commit and one more: the second
// wait is at least defaultTimeout, as a --timeout shorter than two commits
// (1 s, at a second a commit) could never get the answer. whether says
// what is being asked; gone, that what was saved was deleted before the
// answer came (REQUEST_ID_TARGET_DELETED, whose own words name the
// request_id, which the worker never sees).
func askAgainAfterTimeout[R any](a *app, whether, gone string, create func(ctx context.Context) (R, error)) (R, error) {
	reply, err := create(a.ctx)
	if status.Code(err) == codes.DeadlineExceeded && a.ctx.Err() == nil {
		wait := max(a.cfg.timeout, defaultTimeout)
		fmt.Fprintf(a.stderr, "The server did not answer within %s: asking it again, for up to %s, whether %s (it is not saved twice).\n", a.cfg.timeout, wait, whether)
		ctx, cancel := context.WithTimeout(a.ctx, wait)
		defer cancel()
		reply, err = create(ctx)
		if status.Code(err) == codes.DeadlineExceeded {
			a.cfg.timeout = wait // what the answer says was waited
		}
	}
	if client.Reason(err) == server.ReasonRequestIDGone {
		return reply, &cliError{code: exitFailed, msg: gone + " (" + server.ReasonRequestIDGone + ")."}
	}
	return reply, err
}

func (a *app) describe(err error) (string, int) {
	var ce *cliError
	switch {
	case errors.Is(err, errHelpShown):
		return "", exitOK
	case errors.As(err, &ce):
		return ce.msg, ce.code
	case errors.Is(err, errAborted):
		return "Stopped: nothing was saved.", exitUsage
	case a.ctx.Err() != nil && (errors.Is(err, context.Canceled) || status.Code(err) == codes.Canceled):
		return "Interrupted.", exitInterrupted
	}
	// The client package wraps statuses with its own context; the
	// sentence wants the server's words, not the chain.
	var gs interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &gs) {
		return client.Describe(err), exitFailed
	}
	st := gs.GRPCStatus()
	if st.Code() == codes.InvalidArgument && client.Reason(err) == server.ReasonInvalidPageToken {
		// Every command here pages with the server's own tokens, never
		// one typed: a refused one is the server changing under the
		// listing (restarted onto another version between two pages),
		// which a second reading does not meet.
		return "The list changed on the Doorstep server while it was being read, page by page (was the server upgraded just now?). Nothing was changed: run the command again (" + server.ReasonInvalidPageToken + ").", exitFailed
	}
	if fromOlderServer(st) {
		// Not the caller's input: nothing they type makes it work.
		return a.statusSentence(st), exitFailed
	}
	return a.statusSentence(st), exitCodeOf(st.Code())
}

func exitCodeOf(c codes.Code) int {
	switch c {
	case codes.InvalidArgument, codes.OutOfRange:
		return exitUsage
	case codes.NotFound:
		return exitNotFound
	case codes.Unavailable, codes.DeadlineExceeded:
		return exitUnreachable
	case codes.Unauthenticated, codes.PermissionDenied:
		return exitDenied
	}
	return exitFailed
}

// statusSentence says what the server said, with its reason and the
// fields at fault, in one sentence.
func (a *app) statusSentence(st *status.Status) string {
	var reason string
	var resource string
	var violations []*errdetails.BadRequest_FieldViolation
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.Reason
			resource = d.Metadata["resource"]
		case *errdetails.BadRequest:
			violations = append(violations, d.FieldViolations...)
		}
	}
	switch st.Code() {
	case codes.Unavailable:
		if reason != "" { // the server answered: it is shutting down
			return sentence(st.Message()) + " (" + reason + ")"
		}
		if s := a.tlsSentence(st.Message()); s != "" {
			return s
		}
		return fmt.Sprintf("Cannot reach the Doorstep server at %s. Check the address (--addr or DOORSTEP_ADDR) and that the server is running%s.", a.cfg.addr, a.tlsHint(st.Message()))
	case codes.DeadlineExceeded:
		return fmt.Sprintf("The Doorstep server at %s did not answer within %s. %s", a.cfg.addr, a.cfg.timeout, tryAgain)
	case codes.Unauthenticated:
		return "The server did not accept the token: check --token or DOORSTEP_TOKEN (" + orCode(reason, st) + ")."
	case codes.PermissionDenied:
		if need := tokenNeeded(a.command); need != "" && reason == server.ReasonPermissionDenied && st.Message() == server.RoleRefused {
			// The server says only that the role may not; the person
			// asking an admin for a token needs to know which one. A
			// refusal of the right role (a partner watching another
			// organisation) keeps the server's own reason.
			return "The token does not allow this: doorstep " + a.command + " needs " + need + " (" + reason + ")."
		}
		return "The token does not allow this: " + strings.TrimSuffix(st.Message(), ".") + " (" + orCode(reason, st) + ")."
	case codes.Unimplemented:
		// gRPC's answer for a method the server was built without: a
		// server older than this command, which only its upgrade mends.
		if svc, ok := strings.CutPrefix(st.Message(), "unknown service "); ok {
			// gRPC's words for a service the server lacks: every Doorstep
			// server has had the helpline's, so it may be no Doorstep
			// server at all (another program's port).
			return fmt.Sprintf("The server at %s does not offer %s: check that --addr (or DOORSTEP_ADDR) is a Doorstep server's address; if it is, it is an older version, and whoever runs it has to upgrade it (UNIMPLEMENTED).", a.cfg.addr, svc)
		}
		return a.olderServer("UNIMPLEMENTED")
	case codes.NotFound:
		if resource != "" {
			return fmt.Sprintf("There is no %s: check the id (%s).", resource, orCode(reason, st))
		}
	}
	if st.Code() == codes.InvalidArgument && fromOlderServer(st) {
		return a.olderServer(orCode(reason, st))
	}
	if len(violations) > 0 {
		return violationsSentence(violations, reason, fieldFlags)
	}
	return client.Describe(st.Err())
}

// olderServer says that the server is older than this command and cannot
// do what it was asked until it is upgraded.
func (a *app) olderServer(reason string) string {
	return fmt.Sprintf("The Doorstep server at %s is an older version that cannot do this (doorstep %s): ask whoever runs it to upgrade it (%s).", a.cfg.addr, a.command, reason)
}

// fromOlderServer reports whether st refuses a method or a field the server
// was built without.
func fromOlderServer(st *status.Status) bool {
	if st.Code() == codes.Unimplemented {
		return true
	}
	if st.Code() != codes.InvalidArgument {
		return false
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && slices.ContainsFunc(br.GetFieldViolations(), unknownPath) {
			return true
		}
	}
	return false
}

// unknownPath is a server's refusal of an update_mask path it has no
// field for. This command names only fields of its own API, so the server
// was built before the field was added; the words are those servers have
// always used (server/fieldmask.go).
func unknownPath(v *errdetails.BadRequest_FieldViolation) bool {
	return strings.HasPrefix(v.GetField(), "update_mask.paths[") && strings.HasSuffix(v.GetDescription(), " is not a field that can be updated")
}

// tlsSentence says why a TLS handshake failed, or "" when it did not.
// gRPC gives the cause only as text in the status message, so the text is
// all there is to go on; an unknown wording falls back to "cannot reach".
func (a *app) tlsSentence(msg string) string {
	if s := a.clientCertSentence(msg); s != "" {
		return s
	}
	if !strings.Contains(msg, "handshake failed") {
		return ""
	}
	addr := a.cfg.addr
	switch {
	case strings.Contains(msg, "unknown authority"):
		return fmt.Sprintf("The Doorstep server at %s has a certificate this computer does not trust: give the CA that signed it with --ca-file.", addr)
	case strings.Contains(msg, "certificate is valid for"), strings.Contains(msg, "certificate is not valid for any names"):
		return fmt.Sprintf("The certificate of the Doorstep server at %s is not for that name: give --addr the name or address its certificate was issued for.", addr)
	case strings.Contains(msg, "expired or is not yet valid"):
		return fmt.Sprintf("The certificate of the Doorstep server at %s has expired or is not yet valid: it must be renewed, or this computer's clock is wrong.", addr)
	case strings.Contains(msg, "does not look like a TLS handshake"):
		flags := "--tls and --ca-file"
		if a.cfg.certFile != "" || a.cfg.keyFile != "" {
			flags = "--tls, --ca-file, --cert and --key" // --cert alone implies TLS
		}
		return fmt.Sprintf("The Doorstep server at %s does not use TLS: check the address, or, for a server on this machine, leave out %s.", addr, flags)
	}
	return fmt.Sprintf("The secure connection to the Doorstep server at %s failed: check the address and --ca-file.", addr)
}

// clientCertSentence says why a server that asks for client certificates
// (doorstepd --tls-client-ca) turned the connection away, or "". Under TLS
// 1.3 it does so after the handshake, with an alert read while waiting for
// the server's first frame; when its close arrives first, the alert is
// lost and a broken pipe is all there is to go on. Go sends no
// certificate the server's CAs did not sign, so the server then says one
// is required.
func (a *app) clientCertSentence(msg string) string {
	if !a.secure {
		return ""
	}
	addr, cert := a.cfg.addr, a.cfg.certFile
	refused := fmt.Sprintf("The Doorstep server at %s does not accept the client certificate in --cert %s", addr, cert)
	alert := func(words string) bool { return strings.Contains(msg, "remote error: tls: "+words) }
	switch {
	case cert == "" && (alert("certificate required") || alert("bad certificate")):
		return fmt.Sprintf("The Doorstep server at %s asks for a client certificate: give yours with --cert and --key.", addr)
	case alert("certificate required"), alert("unknown certificate authority"):
		return refused + ": it was not signed by a CA the server trusts."
	case alert("expired certificate"):
		return refused + ": it has expired by the server's clock."
	case alert("bad certificate"), alert("unsupported certificate"):
		return refused + "."
	case strings.Contains(msg, "broken pipe"), strings.Contains(msg, "connection reset by peer"):
		if cert == "" {
			return fmt.Sprintf("The Doorstep server at %s closed the secure connection at once: if it asks for a client certificate, give yours with --cert and --key.", addr)
		}
		return fmt.Sprintf("The Doorstep server at %s closed the secure connection at once: it may not accept the client certificate in --cert %s (not signed by a CA it trusts).", addr, cert)
	}
	return ""
}

// tlsHint suggests TLS when a plaintext connection was dropped before the
// server said anything, which is how a TLS server answers plaintext.
func (a *app) tlsHint(msg string) string {
	if a.cfg.useTLS || a.cfg.caFile != "" || !strings.Contains(msg, "server preface") {
		return ""
	}
	return "; if it uses TLS, give --tls or --ca-file"
}

func orCode(reason string, st *status.Status) string {
	if reason != "" {
		return reason
	}
	return strings.ToUpper(st.Code().String())
}

// violationsSentence names every bad field, with the option that sets it.
func violationsSentence(vs []*errdetails.BadRequest_FieldViolation, reason string, hints map[string]string) string {
	var parts []string
	for _, v := range vs {
		parts = append(parts, violationPhrase(v.Field, v.Description, v.Reason, hints))
	}
	s := strings.Join(parts, "; ")
	if len(vs) == 1 && vs[0].Reason == "UNKNOWN_POSTCODE" {
		return s // already a full sentence with its advice
	}
	if reason != "" && reason != "INVALID_FIELDS" {
		s += " [" + reason + "]"
	}
	return sentence(s)
}

// fieldFlags maps a field path (without its message prefix) to the option
// a helpline worker would use to fix it.
var fieldFlags = map[string]string{
	"location.postcode": "--postcode", "home.postcode": "--postcode", "location.street": "--street", "home.street": "--street",
	"location.address_lines": "--address", "home.address_lines": "--address", "location.lat_lng": "--lat, --lng", "home.lat_lng": "--lat, --lng",
	"requester.phone": "--phone", "contact.phone": "--phone", "requester.display_name": "--name", "contact.display_name": "--name",
	"needs": "--needs", "details": "--details", "required_skills": "--skills", "skills": "--skills", "urgency": "--urgency",
	"window.start_time": "--window-start", "window.end_time": "--window-end", "window": "--when", "deadline": "--deadline",
	"organisation": "--org", "external_id": "--external-id", "capacity": "--capacity", "max_distance_metres": "--max-distance",
	"token.role": "--role", "token.display_name": "--name", "token.organisation": "--org", "token.volunteer": "--volunteer",
	"token.expire_time": "--expires", "organisation.display_name": "--name", "phone": "--phone",
	"requester_phone": "--phone", "postcode": "--near", "remote_ok": "--remote-ok", "enters_home": "--enters-home", "travel_mode": "--travel", "vetting.level": "--dbs", "vetting.expire_date": "--dbs-expires",
}

func violationPhrase(field, desc, reason string, hints map[string]string) string {
	short := field
	for _, p := range []string{"help_request.", "volunteer."} {
		short = strings.TrimPrefix(short, p)
	}
	if reason == "UNKNOWN_POSTCODE" {
		pc := strings.TrimPrefix(desc, "postcode ")
		pc, _, _ = strings.Cut(pc, " is not")
		how := "the address's coordinates"
		if h := hints["location.lat_lng"]; h != "" {
			how += " (" + h + ")"
		}
		return fmt.Sprintf("The postcode %s is not known (%s). Give %s or check the postcode.", pc, short, how)
	}
	where := short
	base := short
	if i := strings.IndexByte(base, '['); i >= 0 {
		base = base[:i]
	}
	hint, ok := hints[base]
	if i := strings.LastIndexByte(base, '.'); !ok && i >= 0 {
		hint = hints[base[i+1:]]
	}
	if hint != "" && hint != short {
		where += ", " + hint
	}
	return fmt.Sprintf("%s %s (%s)", label(base), desc, where)
}

// label names a field in words; a description follows it ("The phone
// number is not a phone number...").
func label(path string) string {
	last := path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		last = path[i+1:]
	}
	switch last {
	case "postcode":
		return "the postcode"
	case "phone", "requester_phone":
		return "the phone number"
	case "display_name":
		return "the name"
	case "needs":
		return "needs:"
	case "start_time":
		return "the start time"
	case "end_time":
		return "the end time"
	case "window":
		return "when:"
	case "lat_lng":
		return "the coordinates"
	case "address_lines":
		return "the address"
	case "required_skills", "skills":
		return "skills:"
	case "external_id":
		return "the external id"
	case "request_id":
		return "the request id"
	case "remote_ok":
		return "'from anywhere'"
	}
	return "the " + strings.ReplaceAll(last, "_", " ")
}

// tokenNeeded is the token a command needs when the helpline's own does
// not do (server/auth.go's access table), or "".
func tokenNeeded(command string) string {
	switch {
	case command == "dispatch":
		return "an admin or coordinator token"
	case command == "watch":
		return "a coordinator, partner or admin token"
	case strings.HasPrefix(command, "admin "):
		return "an admin token"
	}
	return ""
}

// What to do with the extension of a switchboard's number
// (phone.ErrExtension): a caller's goes in the request's details,
// for the volunteer to dial; a volunteer's record has no such place, and
// offers reach them by phone.
const (
	callerExtension    = "give the number without it, and put the extension in the details"
	volunteerExtension = "give a number that reaches them without one"
)

// What to do with the Relay UK prefix of a deaf person's number
// (phone.ErrRelay): a caller's goes in the request's details, so
// that the volunteer knows to ring through the relay; a volunteer's
// record has no such place.
const (
	callerRelay    = "give the number without it, and put in the details that the caller is reached through Relay UK, dialling 18002 before the number"
	volunteerRelay = "give their number without it"
)

// phoneFault says why s, refused by phone.Normalise with err, is not
// taken: its extension or Relay UK prefix, said as such and what to do
// with it (as for a caller, or a volunteer), or else that it is not a
// phone number, giving example as one that is.
func phoneFault(s string, err error, example string, caller bool) error {
	switch {
	case errors.Is(err, phone.ErrExtension):
		return fmt.Errorf("%q has an extension, which cannot be stored: %s", s, pick(caller, callerExtension, volunteerExtension))
	case errors.Is(err, phone.ErrRelay):
		return fmt.Errorf("%q starts with a Relay UK prefix, which cannot be stored: %s", s, pick(caller, callerRelay, volunteerRelay))
	case example == "":
		return fmt.Errorf("%q is not a phone number", s)
	}
	return fmt.Errorf("%q is not a phone number: give a UK number such as %s, or one starting with +", s, example)
}

// pick is a if cond, else b.
func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}
