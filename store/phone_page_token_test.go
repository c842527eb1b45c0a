package store

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"slices"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A page token of a list by phone number is bound to its filter's key,
// which names the number in its form today, and holds the id after the
// number's prefix in by_phone: a helpline worker's next page, asked of a
// server restarted on a newer version mid-list, is taken up only if both
// stay as they were issued. The keys are written out as they were when
// the phone filter took a list of forms (phonesOf), and the token as the
// release before issued it, in clear, is still taken.
func TestPhonePageTokenAsIssuedBefore(t *testing.T) {
	s, _ := newStore(t)
	var hrs []*pb.HelpRequest
	for _, form := range []string{olderForm, todayForm, olderForm} {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", form), Idempotency{})
		mustOK(t, err, "create")
		hrs = append(hrs, hr)
	}
	var vols []*pb.Volunteer
	for _, form := range []string{todayForm, olderForm} {
		v, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", form), Idempotency{})
		mustOK(t, err, "create volunteer")
		vols = append(vols, v)
	}
	for _, tc := range []struct {
		what, key string
		list      func(token string) ([]string, string, error)
		want      []string
	}{
		{"requests", "hr|0|||" + todayForm, func(token string) ([]string, string, error) {
			got, next, err := s.ListHelpRequests(bg, HelpRequestFilter{Phone: olderForm}, Page{Size: 1, Token: token})
			return names(got), next, err
		}, names(hrs)},
		{"open requests", "hr|1|||" + todayForm, func(token string) ([]string, string, error) {
			got, next, err := s.ListHelpRequests(bg, HelpRequestFilter{Phone: todayForm, State: pb.HelpRequest_STATE_OPEN}, Page{Size: 1, Token: token})
			return names(got), next, err
		}, names(hrs)},
		{"volunteers", "vol||||" + todayForm, func(token string) ([]string, string, error) {
			got, next, err := s.ListVolunteers(bg, VolunteerFilter{Phone: olderForm}, Page{Size: 1, Token: token})
			return names(got), next, err
		}, names(vols)},
	} {
		first, token, err := tc.list("")
		mustOK(t, err, tc.what+": first page")
		if len(first) != 1 || first[0] != tc.want[0] {
			t.Fatalf("%s: first page %v, want %s", tc.what, first, tc.want[0])
		}
		id, err := ParseID(idOf(first[0]))
		mustOK(t, err, "id")
		if sealed := s.encodeToken(tc.key, id); token != sealed {
			t.Errorf("%s: next page token %q, want %q", tc.what, token, sealed)
		}
		// The token as this version issues it, and as the release
		// before did (in flight across the upgrade).
		for _, issued := range []string{token, clearPageToken(tc.key, id)} {
			got := first
			for token := issued; token != ""; {
				var page []string
				page, token, err = tc.list(token)
				mustOK(t, err, tc.what+": next page")
				got = append(got, page...)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s by the token %q: %v, want %v", tc.what, issued, got, tc.want)
			}
		}
	}
}

// clearPageToken is a page token as the release before issued it:
// version 1, the FNV-1a hash of the filter's key, the suffix, in clear.
func clearPageToken(filterKey string, suffix []byte) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(filterKey))
	return base64.RawURLEncoding.EncodeToString(append(binary.BigEndian.AppendUint32([]byte{1}, h.Sum32()), suffix...))
}
