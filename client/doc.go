// Package client is the Go client for Doorstep's gRPC API, for partners
// and app builders who integrate programmatically.
//
// It earns its place beside the generated stubs by doing what every
// integration would otherwise get wrong on its own: it dials with TLS and a
// bearer token, retries idempotent calls on UNAVAILABLE with backoff, gives
// every create a request_id so that a retry can never make a duplicate,
// resumes an event watch from the last revision seen after a disconnect,
// and splits bulk imports into batches the server accepts.
package client
