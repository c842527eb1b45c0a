package client_test

import (
	"context"
	"testing"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestTokenWithLineEnd: a partner's program reads its token from a file
// saved on Windows, or from an environment file with CRLF lines, and
// passes it on as read. gRPC refuses to send a header with a carriage
// return or newline in it, so every call failed before reaching the
// server, with a message about non-printable ASCII that names no token.
// No token has white space of its own: the client trims it.
func TestTokenWithLineEnd(t *testing.T) {
	s := newTestServer(t)
	for _, tc := range []struct{ name, token string }{
		{"as issued", s.token},
		{"CRLF", s.token + "\r\n"},
		{"newline", s.token + "\n"},
		{"spaces", "  " + s.token + " "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := s.dial(client.WithToken(tc.token))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Gazetteer.LookupPostcode(context.Background(), &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"}); err != nil {
				t.Errorf("a call with the token %q: %v", tc.token, err)
			}
		})
	}
}
