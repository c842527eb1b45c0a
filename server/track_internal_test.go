package server

import (
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestLateWriteCannotResurrectDeletedVolunteer delivers to the engine, in
// the wrong order, an update that committed before a delete: the deleted
// volunteer must stay out of matching.
func TestLateWriteCannotResurrectDeletedVolunteer(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "doorstep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := New(st, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	v := &pb.Volunteer{
		Name: "volunteers/01arz3ndektsv4rrffq69g5fav", Etag: "7",
		Home: &pb.Location{Postcode: "AB10 1AB", LatLng: &pb.LatLng{Latitude: 57.1497, Longitude: -2.0943}},
	}
	s.track(v)
	if s.engine.Len() != 1 {
		t.Fatalf("engine holds %d volunteers after the create, want 1", s.engine.Len())
	}
	late := &pb.Volunteer{Name: v.Name, Etag: "8", Home: v.Home} // committed before the delete
	s.untrack(v.Name)
	s.track(late)
	if s.engine.Len() != 0 {
		t.Errorf("a late write put a deleted volunteer back: engine holds %d", s.engine.Len())
	}
	// Others are unaffected.
	other := &pb.Volunteer{Name: "volunteers/01arz3ndektsv4rrffq69g5fb0", Etag: "9", Home: v.Home}
	s.track(other)
	if s.engine.Len() != 1 {
		t.Errorf("engine holds %d volunteers, want the other one", s.engine.Len())
	}
}
