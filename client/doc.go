// Package client is the Go client for Doorstep's gRPC API, for partners
// and app builders who integrate programmatically.
//
// It earns its place beside the generated stubs by doing what every
// integration would otherwise get wrong on its own: it dials with TLS and a
// bearer token, retries idempotent calls on UNAVAILABLE with backoff, waits
// out the server's per-token call rate (RATE_LIMITED) the same way, gives
// every create a request_id so that a retry can never make a duplicate,
// resumes an event watch from the last revision seen after a disconnect,
// and splits bulk imports into batches the server accepts.
//
// # Connecting
//
// Dial needs a transport choice, so that nobody sends personal data in the
// clear by forgetting one:
//
//	c, err := client.Dial(ctx, "doorstep.example.org:443",
//		client.WithTLS(&tls.Config{}), client.WithToken(token))
//
// WithInsecure is for a server on loopback, or in tests.
//
// The token is a secret the server's admin makes for you and shows once
// (doorstep admin token create; a partner's, with --role partner and
// --org naming the organisation it acts for). Keep it in a file only the
// job can read and give WithToken what the file holds: the line end is
// dropped. A partner token acts for its one organisation: a request naming
// another is refused PERMISSION_DENIED. Dial makes no connection, so a wrong
// address or token is first told by the first call (UNAVAILABLE,
// UNAUTHENTICATED).
//
// A Client is safe for concurrent use, Watch beside other calls included;
// Close it when the program is done with it.
//
// # Calls and retries
//
// The service fields (HelpRequests, Volunteers, Matching, Gazetteer,
// Events) are the generated stubs; every call through them goes through
// this client's timeout (WithCallTimeout), token and retries. A call that
// failed with UNAVAILABLE is retried only when sending it twice does what
// sending it once does: see IsRetryable for the list and the reasons. A
// call turned away for the token's call rate never ran, and is retried
// whatever it is. A create without a request_id
// is given one. The typed methods (CreateHelpRequest, GetHelpRequest,
// AllHelpRequests and so on) make common calls shorter.
//
// # Events
//
// Watch streams changes to requests, offers and volunteers in revision
// order and repairs a broken stream by itself, without losing or repeating
// an event. Events name records but hold none of their contents: read a
// record with its Get call when a change matters to the app.
//
// # Imports
//
// ImportHelpRequests stores a partner's own records, idempotent by
// organisation and external_id, in batches the server accepts, and reports
// each row's fate by its position in the input.
//
// # Errors
//
// Errors keep their gRPC status through any wrapping: status.Code works on
// them, Reason returns the server's stable ErrorInfo reason for code that
// must tell failures apart (Metadata its details, such as the "resource"
// in the way), and Describe (DescribeRow for an import row) turns one into
// a sentence for the person at the keyboard.
//
// Every reason the server gives, with its code and the metadata it
// carries, is listed in the Errors section of the repository's README
// (https://github.com/doorstep-aid/doorstep#errors); a method's comment in
// the .proto files names some, not all, of those it may give. This package
// has constants only for the reasons it acts on or makes itself. A later
// server may give reasons added since: show Describe's sentence for one
// a program does not know.
//
// A call that its context ended, cancelled (SIGINT, say) or past its
// deadline, fails with code CANCELED or DEADLINE_EXCEEDED: gRPC's errors
// do not wrap the context's, so errors.Is(err, context.Canceled) is false
// for them, and status.Code (or ctx.Err()) tells it. ImportHelpRequests so
// stopped returns the rows done before with such an error; running the
// import again finishes it. Watch returns ctx.Err() itself.
package client
