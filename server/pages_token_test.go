package server_test

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestPageTokensRefusedOutsideTheirListing (AIP-158): a page token goes on
// with the listing that gave it and no other. One from another filter,
// another list, another partner, or not from the server at all is
// INVALID_ARGUMENT naming page_token, and none lists a record the caller
// could not list without it.
func TestPageTokensRefusedOutsideTheirListing(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	partners := map[string]pb.HelpRequestServiceClient{}
	for _, org := range []string{"org-a", "org-b"} {
		if _, err := admin.CreateOrganisation(h.ctx, &pb.CreateOrganisationRequest{Organisation: &pb.Organisation{Name: "organisations/" + org, DisplayName: org}}); err != nil {
			t.Fatal(err)
		}
		tok, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: org, Role: pb.Role_ROLE_PARTNER, Organisation: org}})
		if err != nil {
			t.Fatal(err)
		}
		partners[org] = pb.NewHelpRequestServiceClient(h.as(tok.Secret))
		for i := range 4 {
			h.createHR(shopping(func(r *pb.HelpRequest) {
				r.Organisation = org
				r.Requester.Phone = fmt.Sprintf("01224 2000%02d", i)
			}))
		}
	}
	firstPage := func(c pb.HelpRequestServiceClient, f *pb.ListHelpRequestsRequest) string {
		t.Helper()
		req := proto.CloneOf(f)
		req.PageSize = 1
		resp, err := c.ListHelpRequests(h.ctx, req)
		if err != nil || resp.NextPageToken == "" {
			t.Fatalf("first page: %v, next %q", err, resp.GetNextPageToken())
		}
		return resp.NextPageToken
	}
	aToken := firstPage(partners["org-a"], &pb.ListHelpRequestsRequest{})
	openToken := firstPage(h.hr, &pb.ListHelpRequestsRequest{State: pb.HelpRequest_STATE_OPEN})
	raw, err := base64.RawURLEncoding.DecodeString(openToken)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), raw...)
	flipped[1] ^= 0xff
	toks, err := admin.ListTokens(h.ctx, &pb.ListTokensRequest{PageSize: 1})
	if err != nil || toks.NextPageToken == "" {
		t.Fatalf("tokens: %v", err)
	}
	for _, tc := range []struct {
		name  string
		c     pb.HelpRequestServiceClient
		f     *pb.ListHelpRequestsRequest
		token string
	}{
		{"another partner's", partners["org-b"], &pb.ListHelpRequestsRequest{}, aToken},
		{"a partner's, by the admin unfiltered", h.hr, &pb.ListHelpRequestsRequest{}, aToken},
		{"another state", h.hr, &pb.ListHelpRequestsRequest{State: pb.HelpRequest_STATE_CANCELLED}, openToken},
		{"another urgency", h.hr, &pb.ListHelpRequestsRequest{State: pb.HelpRequest_STATE_OPEN, MinUrgency: pb.Urgency_URGENCY_HIGH}, openToken},
		{"another postcode", h.hr, &pb.ListHelpRequestsRequest{State: pb.HelpRequest_STATE_OPEN, Postcode: "AB10"}, openToken},
		{"another number", h.hr, &pb.ListHelpRequestsRequest{State: pb.HelpRequest_STATE_OPEN, RequesterPhone: "01224 200001"}, openToken},
		{"ListTokens'", h.hr, &pb.ListHelpRequestsRequest{}, toks.NextPageToken},
		{"a byte flipped", h.hr, &pb.ListHelpRequestsRequest{State: pb.HelpRequest_STATE_OPEN}, base64.RawURLEncoding.EncodeToString(flipped)},
		{"the release before's, of another filter", h.hr, &pb.ListHelpRequestsRequest{State: pb.HelpRequest_STATE_OPEN}, clearPageToken("hr|0|||", nil)},
		{"truncated", h.hr, &pb.ListHelpRequestsRequest{State: pb.HelpRequest_STATE_OPEN}, openToken[:4]},
		{"not base64", h.hr, &pb.ListHelpRequestsRequest{State: pb.HelpRequest_STATE_OPEN}, "%%%not a token%%%"},
		{"padded", h.hr, &pb.ListHelpRequestsRequest{State: pb.HelpRequest_STATE_OPEN}, openToken + "=="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := proto.CloneOf(tc.f)
			req.PageToken = tc.token
			_, err := tc.c.ListHelpRequests(h.ctx, req)
			code, reason, fields := errorOf(t, err)
			if code != codes.InvalidArgument || reason != server.ReasonInvalidPageToken || len(fields) != 1 || fields[0] != "page_token" {
				t.Errorf("got %v %s %v (%v), want INVALID_ARGUMENT %s on page_token", code, reason, fields, err, server.ReasonInvalidPageToken)
			}
		})
	}
	// A token of the partner's own listing in the form the release before
	// issued (in clear, and still taken across an upgrade) goes on with
	// the partner's records only, whatever bytes it carries after the
	// filter's hash.
	for _, suffix := range [][]byte{nil, {0}, {0xff}, make([]byte, 16), []byte("AB10 1AB\x00")} {
		forged := clearPageToken("hr|0||org-a|", suffix)
		resp, err := partners["org-a"].ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{PageToken: forged, PageSize: 100})
		if err != nil {
			t.Errorf("suffix %q: %v", suffix, err)
			continue
		}
		for _, r := range resp.HelpRequests {
			if r.Organisation != "org-a" {
				t.Errorf("suffix %q: org-a's partner listed %s of %s", suffix, r.Name, r.Organisation)
			}
		}
	}
}

// TestPageTokensGoOnAfterRestartAndRotation: a listing whose pages are
// read across a server restart and an erasure (which rotates the key
// epoch that the phone index is hashed under) lists every record once,
// and the same token read twice gives the same page.
func TestPageTokensGoOnAfterRestartAndRotation(t *testing.T) {
	h := newHarness(t)
	var want []string
	for i := range 6 {
		want = append(want, h.createHR(shopping(func(r *pb.HelpRequest) {
			r.Requester.Phone = "01224 300000"
			r.Location.Postcode = []string{"AB10 6AR", "AB10 1AB", "AB10 6AA"}[i%3]
		})).Name)
	}
	other := h.createHR(shopping(func(r *pb.HelpRequest) { r.Requester.Phone = "01224 399999" })).Name
	admin := func() pb.AdminServiceClient { return pb.NewAdminServiceClient(h.conn) }
	for _, f := range []*pb.ListHelpRequestsRequest{
		{RequesterPhone: "01224 300000"},
		{Postcode: "AB10", State: pb.HelpRequest_STATE_OPEN},
		{},
	} {
		t.Run(fmt.Sprintf("%v", f), func(t *testing.T) {
			var got []string
			token := ""
			for page := 0; ; page++ {
				req := proto.CloneOf(f)
				req.PageSize, req.PageToken = 2, token
				resp, err := h.hr.ListHelpRequests(h.ctx, req)
				if err != nil {
					t.Fatalf("page %d: %v", page+1, err)
				}
				again, err := h.hr.ListHelpRequests(h.ctx, req)
				if err != nil || !slicesEqual(namesOf(again.HelpRequests), namesOf(resp.HelpRequests)) || again.NextPageToken != resp.NextPageToken {
					t.Errorf("page %d read twice: %v then %v (%v)", page+1, namesOf(resp.HelpRequests), namesOf(again.GetHelpRequests()), err)
				}
				got = append(got, namesOf(resp.HelpRequests)...)
				if resp.NextPageToken == "" {
					break
				}
				token = resp.NextPageToken
				switch page {
				case 0:
					h.reopen()
				case 1:
					if _, err := admin().ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "01224 399999"}); err != nil {
						t.Fatal(err)
					}
				}
			}
			seen := map[string]int{}
			for _, n := range got {
				seen[n]++
			}
			for _, n := range want {
				if seen[n] != 1 {
					t.Errorf("%s listed %d times in %v", n, seen[n], got)
				}
			}
			if f.RequesterPhone != "" && seen[other] != 0 {
				t.Errorf("another caller's request listed: %v", got)
			}
		})
	}
}

// clearPageToken is a page token as the release before issued it, in
// clear: version 1, the FNV-1a hash of the store's key of the listing's
// filter, the suffix of the key to resume after.
func clearPageToken(filterKey string, suffix []byte) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(filterKey))
	return base64.RawURLEncoding.EncodeToString(append(binary.BigEndian.AppendUint32([]byte{1}, h.Sum32()), suffix...))
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
