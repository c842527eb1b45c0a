package store

import (
	"testing"

	"github.com/doorstep-aid/doorstep/matcher"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestVisitsIsNotRemote: the store judges the door rule by visits, and
// dispatch by matcher.Remote; were they to differ on a request, dispatch
// would plan offers the store refuses as SAME_DOOR, or the store let in
// a second volunteer dispatch would keep out. They agree on every mix of
// up to two needs, remote_ok and enters_home.
func TestVisitsIsNotRemote(t *testing.T) {
	var needs [][]pb.Need
	needs = append(needs, nil)
	for a := range pb.Need_name {
		needs = append(needs, []pb.Need{pb.Need(a)})
		for b := range pb.Need_name {
			if b > a {
				needs = append(needs, []pb.Need{pb.Need(a), pb.Need(b)})
			}
		}
	}
	needs = append(needs, []pb.Need{pb.Need(999)}) // a need this build does not know
	for _, ns := range needs {
		for _, remote := range []bool{false, true} {
			for _, inside := range []bool{false, true} {
				r := &pb.HelpRequest{Needs: ns, RemoteOk: remote, EntersHome: inside}
				if visits(r) == matcher.Remote(r) {
					t.Errorf("needs %v, remote_ok %v, enters_home %v: visits %v, matcher.Remote %v", ns, remote, inside, visits(r), matcher.Remote(r))
				}
			}
		}
	}
}
