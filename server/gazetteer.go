package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// LookupPostcode implements pb.GazetteerServiceServer.
func (s *Server) LookupPostcode(ctx context.Context, req *pb.LookupPostcodeRequest) (*pb.LookupPostcodeResponse, error) {
	pc, err := geo.NormalisePostcode(req.GetPostcode())
	if err != nil {
		return nil, invalidField("postcode", ReasonInvalidFields, echo(req.GetPostcode())+` is not a UK postcode (expected something like "AB10 1AB")`)
	}
	at, err := s.store.LookupPostcode(ctx, pc)
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{reason: ReasonPostcodeMissing, name: "postcodes/" + pc})
	}
	return &pb.LookupPostcodeResponse{Postcode: pc, LatLng: &pb.LatLng{Latitude: at.Lat, Longitude: at.Lng}}, nil
}

// GazetteerStats reports a gazetteer load: what the file held and what the
// store changed.
type GazetteerStats struct {
	File  geo.ONSPDStats
	Store store.PostcodeLoadStats
}

// LoadGazetteer loads an ONS Postcode Directory CSV file into st: live
// postcodes are stored or updated, terminated ones removed.
func LoadGazetteer(ctx context.Context, st store.Store, path string) (GazetteerStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return GazetteerStats{}, fmt.Errorf("gazetteer: %w", err)
	}
	defer f.Close()
	return loadGazetteer(ctx, st, f)
}

func loadGazetteer(ctx context.Context, st store.Store, r io.Reader) (GazetteerStats, error) {
	var stats GazetteerStats
	var readErr error
	// The reader pushes rows and the store pulls them; iter.Pull joins the
	// two without holding the whole file in memory.
	next, stop := iter.Pull(func(yield func(store.PostcodeUpdate) bool) {
		stats.File, readErr = geo.ReadONSPD(r, func(e geo.PostcodeEntry) error {
			if !yield(store.PostcodeUpdate{Postcode: e.Postcode, At: store.LatLng{Lat: e.Lat, Lng: e.Lng}, Remove: e.Terminated}) {
				return errStopped
			}
			return nil
		})
	})
	defer stop()
	ss, err := st.LoadPostcodes(ctx, func() (store.PostcodeUpdate, bool, error) {
		u, ok := next()
		if !ok && readErr != nil {
			return u, false, readErr
		}
		return u, ok, nil
	})
	stats.Store = ss
	if err != nil {
		return stats, fmt.Errorf("gazetteer: %w", err)
	}
	return stats, nil
}

var errStopped = errors.New("stopped")
