package matcher

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestRemoteWithoutPostcodeDrawsNoStrangers: a befriending call whose
// place has no postcode is ranked from the 50 nearest who can take it.
// A volunteer 60 km away who also has no postcode earns no bonus for it
// (no postcode is not the same postcode), so must not be drawn in past
// those 50 and put first, as if they lived next door.
func TestRemoteWithoutPostcodeDrawsNoStrangers(t *testing.T) {
	var vs []*pb.Volunteer
	for i := range remotePool {
		vs = append(vs, vol(fmt.Sprintf("near%02d", i), float64(100+10*i), 0, func(v *pb.Volunteer) {
			v.Vetting.Level = pb.Vetting_DBS_LEVEL_BASIC
			// One job this week each: a score of 250 m and their distance.
			v.RecentAssignmentTimes = []*timestamppb.Timestamp{timestamppb.New(now.Add(-time.Hour))}
		}))
	}
	vs = append(vs, vol("faraway", 60000, 0, func(v *pb.Volunteer) {
		v.Vetting.Level = pb.Vetting_DBS_LEVEL_BASIC
		v.Home.Postcode, v.Home.Street = "", ""
	}))
	e := engineWith(t, vs...)
	r := req(func(r *pb.HelpRequest) {
		r.Needs = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}
		r.RemoteOk = true
		r.Location.Postcode, r.Location.Street = "", ""
	})
	res, err := e.FindCandidates(r, nil, 1, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Candidates); len(got) != 1 || got[0] != "near00" {
		t.Fatalf("candidates %v, want the nearest of the 50 nearest, near00", got)
	}
}
