package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// ReasonStorageFull is the reason of RESOURCE_EXHAUSTED when the server's
// disk is full: nothing was saved, and nothing will be until someone frees
// space there, so it is not retried.
const ReasonStorageFull = "STORAGE_FULL"

// Describe turns an error from this package or the stubs into one plain
// sentence for the person at the keyboard: what kind of failure it is, the
// server's own message or every bad field it named, and the stable reason
// in brackets for anyone who has to look it up. It returns "" for nil.
func Describe(err error) string {
	if err == nil {
		return ""
	}
	var ce *CompactedError
	if errors.As(err, &ce) {
		if ce.Ahead {
			// Not compaction: "no longer kept" would send whoever reads it
			// to the event retention, when the data was put back from an
			// older copy.
			return fmt.Sprintf("Revision %d is past the server's log: its data was restored from an older copy; reload the view and watch again from revision %d.", ce.Requested, ce.From())
		}
		return fmt.Sprintf("Events from revision %d are no longer kept; reload the view and watch again from revision %d.", ce.Requested, ce.From())
	}
	st, ok := statusOf(err)
	if !ok {
		switch {
		case errors.Is(err, context.Canceled):
			return sentence(lead(codes.Canceled), "", "")
		case errors.Is(err, context.DeadlineExceeded):
			return sentence(lead(codes.DeadlineExceeded), "", "")
		}
		return sentence(err.Error(), "", "")
	}
	var reason string
	var fields []string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, v.GetField()+": "+v.GetDescription())
			}
		}
	}
	return describe(st.Code(), st.Message(), reason, fields)
}

// DescribeRow is Describe for the error of one ImportHelpRequests or
// BatchCreateHelpRequests row.
func DescribeRow(e *pb.RowError) string {
	if e == nil {
		return ""
	}
	code, ok := codeNamed[e.GetCode()]
	if !ok {
		code = codes.Unknown
	}
	var fields []string
	for _, v := range e.GetFieldViolations() {
		fields = append(fields, v.GetField()+": "+v.GetDescription())
	}
	return describe(code, e.GetMessage(), e.GetReason(), fields)
}

func describe(code codes.Code, msg, reason string, fields []string) string {
	if reason == codeName(code) {
		reason = "" // says nothing the lead does not
	}
	switch {
	case len(fields) > 0:
		// The server's message names only the first field; the list names
		// them all.
		return sentence("Some fields are wrong: "+strings.Join(fields, "; "), "", reason)
	case reason == ReasonStorageFull:
		// Not the lead of its code, "too much at once", which reads as
		// the caller's fault: say what happened, and whom to tell.
		return sentence("The server's disk is full, so this was not done and nothing was changed", "", reason,
			"tell whoever runs the server, and try again once they have freed space")
	case code == codes.Unavailable && strings.Contains(msg, "handshake failed"):
		if s := handshakeSentence(msg); s != "" {
			return s
		}
		return sentence("The secure connection to the server failed", parenthesise(msg), reason)
	case code == codes.Unavailable:
		// What to do comes last, after the detail, in one sentence.
		return sentence("The server cannot be reached just now", parenthesise(msg), reason, "try again shortly")
	case code == codes.Unimplemented:
		// gRPC's answer for a method the server was built without; its
		// words name the method, not that an upgrade of the server mends it.
		return sentence(lead(code), msg, reason, "it is older than this client, and has to be upgraded first")
	case code == codes.Canceled || code == codes.DeadlineExceeded:
		// Their messages and reasons only repeat the lead, or show Go's
		// wording.
		return sentence(lead(code), "", "")
	}
	return sentence(lead(code), msg, reason)
}

// handshakeSentence says what is wrong with the server's certificate, or
// "" for a wording it does not know. gRPC gives the cause only as text,
// and none of these is mended by trying again.
func handshakeSentence(msg string) string {
	switch {
	case strings.Contains(msg, "unknown authority"):
		return sentence("The server's certificate is not trusted: it was signed by a CA this client does not know, or by the server itself", "", "",
			"give the client the CA that signed it (tls.Config RootCAs)")
	case strings.Contains(msg, "expired or is not yet valid"):
		return sentence("The server's certificate has expired or is not yet valid", "", "", "it must be renewed, or this computer's clock is wrong")
	case strings.Contains(msg, "certificate is valid for"), strings.Contains(msg, "certificate is not valid for any names"):
		return sentence("The server's certificate is not for the name dialled", "", "", "dial the name it was issued for, or set tls.Config ServerName to it")
	}
	return ""
}

// lead says in plain words what kind of failure a code is.
func lead(code codes.Code) string {
	switch code {
	case codes.InvalidArgument:
		return "The request was refused"
	case codes.NotFound:
		return "Not found"
	case codes.AlreadyExists:
		return "Already recorded"
	case codes.Aborted:
		return "Someone else changed it first"
	case codes.FailedPrecondition:
		return "Not possible now"
	case codes.OutOfRange:
		return "Out of range"
	case codes.DeadlineExceeded:
		return "The server did not answer in time"
	case codes.Canceled:
		return "The call was cancelled"
	case codes.Unauthenticated:
		return "Not signed in: the token is missing or not valid"
	case codes.PermissionDenied:
		return "Not allowed"
	case codes.ResourceExhausted:
		return "Too much at once"
	case codes.Unimplemented:
		return "The server does not offer this"
	}
	return "The server failed"
}

// sentence joins a lead, a detail, a reason and advice into one sentence
// starting with a capital and ending with a full stop.
func sentence(lead, detail, reason string, advice ...string) string {
	s := strings.TrimRight(strings.TrimSpace(lead), ".")
	if detail = strings.TrimRight(strings.TrimSpace(detail), "."); detail != "" {
		if strings.HasPrefix(detail, "(") {
			s += " " + detail
		} else {
			s += ": " + detail
		}
	}
	if reason != "" {
		s += " (" + reason + ")"
	}
	for _, a := range advice {
		s += "; " + a
	}
	if r, n := utf8.DecodeRuneInString(s); n > 0 {
		s = string(unicode.ToUpper(r)) + s[n:]
	}
	return s + "."
}

// parenthesise puts a detail in brackets, or leaves it empty.
func parenthesise(s string) string {
	if s = strings.TrimRight(strings.TrimSpace(s), "."); s == "" {
		return ""
	}
	return "(" + s + ")"
}

// codeName is a code's name as RowError.code and ErrorInfo reasons spell
// it: "INVALID_ARGUMENT".
func codeName(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

var codeNamed = func() map[string]codes.Code {
	m := make(map[string]codes.Code)
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		m[codeName(c)] = c
	}
	return m
}()

// Reason returns the stable ErrorInfo reason of err (such as
// "EXTERNAL_ID_EXISTS" or "UNKNOWN_POSTCODE"), wrapped or not, for code
// that must tell failures apart; "" when err carries none.
func Reason(err error) string { return errorInfo(err).GetReason() }

// Metadata returns a value of err's ErrorInfo metadata, such as the
// "resource" that blocked a change; "" when err carries none.
func Metadata(err error, key string) string { return errorInfo(err).GetMetadata()[key] }
