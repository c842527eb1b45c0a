package store

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

var (
	benchPlacesOnce sync.Once
	benchPlaces     []geo.PostcodeEntry
	benchPlacesErr  error
)

// livePostcodes are the sample's live postcodes, so that benchmark records
// sit around real postcode centres with a realistic spread of index keys.
func livePostcodes(b *testing.B) []geo.PostcodeEntry {
	b.Helper()
	benchPlacesOnce.Do(func() {
		f, err := os.Open(samplePath)
		if err != nil {
			benchPlacesErr = err
			return
		}
		defer f.Close()
		_, benchPlacesErr = geo.ReadONSPD(f, func(e geo.PostcodeEntry) error {
			if !e.Terminated {
				benchPlaces = append(benchPlaces, e)
			}
			return nil
		})
	})
	if benchPlacesErr != nil {
		b.Fatal(benchPlacesErr)
	}
	return benchPlaces
}

var benchOrgs = []string{"aberdeen-mutual-aid", "torry-helpers", "city-foodbank", "bridge-of-don-neighbours"}

// benchRequest is a help request as the server would pass it on: every
// field a caller typically fills, normalised, with a unique external id.
func benchRequest(i int64, places []geo.PostcodeEntry) *pb.HelpRequest {
	p := places[int(i)%len(places)]
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Add(time.Duration(i%72) * time.Hour)
	return &pb.HelpRequest{
		Needs:          []pb.Need{pb.Need_NEED_GROCERY_SHOPPING, pb.Need_NEED_PRESCRIPTION_COLLECTION},
		Details:        "Weekly shop for one (list by the door) and a repeat prescription ready at the pharmacy. Please ring the bell twice; the intercom is broken.",
		RequiredSkills: []string{"driver"},
		Urgency:        pb.Urgency(1 + i%4),
		Timing: &pb.HelpRequest_Window{Window: &pb.TimeWindow{
			StartTime: timestamppb.New(start),
			EndTime:   timestamppb.New(start.Add(4 * time.Hour)),
		}},
		Location: &pb.Location{
			Postcode:          p.Postcode,
			Street:            "Great Western Road",
			AddressLines:      []string{fmt.Sprintf("Flat %d", 1+i%12), fmt.Sprintf("%d Great Western Road", 1+i%300)},
			LatLng:            &pb.LatLng{Latitude: p.Lat + float64(i%7)*1e-4, Longitude: p.Lng - float64(i%5)*1e-4},
			CoordinatesSource: pb.CoordinatesSource(1),
		},
		Requester: &pb.Contact{
			DisplayName: "Margaret Thomson",
			Phone:       fmt.Sprintf("+44770090%04d", i%10000),
		},
		Organisation: benchOrgs[int(i)%len(benchOrgs)],
		ExternalId:   fmt.Sprintf("case-%08d", i),
	}
}

// benchIdempotency is what the server derives from a request id.
func benchIdempotency(i int64) Idempotency {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(i))
	return Idempotency{RequestID: fmt.Sprintf("req-%016x", i), Fingerprint: sha256.Sum256(seed[:])}
}

// BenchmarkCreateHelpRequest measures durable creates (each acknowledged
// only after its fsync) with 1, 16 and 256 concurrent writers sharing the
// group commit; b.N is the total over all writers.
func BenchmarkCreateHelpRequest(b *testing.B) {
	places := livePostcodes(b)
	for _, writers := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, _ := newStore(b)
			// Requests are built up front so that only the store is timed.
			reqs := make([]*pb.HelpRequest, b.N)
			for i := range reqs {
				reqs[i] = benchRequest(int64(i), places)
			}
			var next atomic.Int64
			var failed atomic.Bool
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range writers {
				n := b.N / writers
				if w < b.N%writers {
					n++
				}
				wg.Go(func() {
					for range n {
						i := next.Add(1) - 1
						if _, err := s.CreateHelpRequest(bg, reqs[i], benchIdempotency(i)); err != nil {
							if failed.CompareAndSwap(false, true) {
								b.Errorf("create %d: %v", i, err)
							}
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			if got := next.Load(); got != int64(b.N) {
				b.Fatalf("%d creates made, want %d", got, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// fillHelpRequests creates n realistic help requests and returns their ids.
func fillHelpRequests(b *testing.B, s *BoltStore, n int) []string {
	b.Helper()
	places := livePostcodes(b)
	return fill(b, n, func(i int) (string, error) {
		hr, err := s.CreateHelpRequest(bg, benchRequest(int64(i), places), Idempotency{})
		if err != nil {
			return "", err
		}
		return strings.TrimPrefix(hr.Name, helpRequestPrefix), nil
	})
}

// fill makes n records with create, from 64 writers at once so that they
// share commits, and returns the ids create returns, in order.
func fill(b *testing.B, n int, create func(i int) (string, error)) []string {
	b.Helper()
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				id, err := create(i)
				if err != nil {
					b.Error(err)
					return
				}
				ids[i] = id
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return ids
}

// BenchmarkGetHelpRequest measures concurrent reads by id.
func BenchmarkGetHelpRequest(b *testing.B) {
	s, _ := newStore(b)
	ids := fillHelpRequests(b, s, 5000)
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[int(seq.Add(1))%len(ids)]
			if _, err := s.GetHelpRequest(bg, id); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkListHelpRequests measures a coordinator's typical list: one
// page of 50 open requests in a postcode district.
func BenchmarkListHelpRequests(b *testing.B) {
	s, _ := newStore(b)
	fillHelpRequests(b, s, 5000)
	f := HelpRequestFilter{PostcodePrefix: "AB15 ", State: pb.HelpRequest_STATE_OPEN}
	if page, _, err := s.ListHelpRequests(bg, f, Page{Size: 50}); err != nil || len(page) != 50 {
		b.Fatalf("list: %d records, %v", len(page), err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := s.ListHelpRequests(bg, f, Page{Size: 50}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkMatchingInputs measures what FindCandidates reads from the
// store per call: the request, and its requester's earlier requests by
// phone (for continuity), among 5,000 stored requests. It opens no sealed
// contact: the requester's other requests are found by the phone hash
// stored beside the request.
func BenchmarkMatchingInputs(b *testing.B) {
	s, _ := newStore(b)
	ids := fillHelpRequests(b, s, 5000)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, _, err := s.MatchingInputs(bg, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
		i += 997 // a stride, so that consecutive calls read different pages
	}
}

// BenchmarkCreateOffers measures the write a dispatch run makes: offers
// in batches of 256 (the server's dispatchBatch) to distinct requests and
// volunteers, each batch one transaction and one fsync. b.N is offers.
//
//	go test -run '^$' -bench CreateOffers -benchtime 20000x ./store/
func BenchmarkCreateOffers(b *testing.B) {
	s, _ := newStore(b)
	places := livePostcodes(b)
	reqs := fillHelpRequests(b, s, b.N)
	vols := fill(b, b.N, func(i int) (string, error) {
		p := places[i%len(places)]
		v := newVolunteer(benchOrgs[i%len(benchOrgs)], p.Postcode, fmt.Sprintf("+44770080%04d", i%10000), "driver")
		v.Home.LatLng = &pb.LatLng{Latitude: p.Lat, Longitude: p.Lng}
		v, err := s.CreateVolunteer(bg, v, Idempotency{})
		if err != nil {
			return "", err
		}
		return strings.TrimPrefix(v.Name, volunteerPrefix), nil
	})
	const batch = 256
	ps := make([]OfferParams, 0, batch)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	for lo := 0; lo < b.N; lo += batch {
		ps = ps[:0]
		for i := lo; i < min(lo+batch, b.N); i++ {
			ps = append(ps, OfferParams{HelpRequestID: reqs[i], VolunteerID: vols[i], Lease: 30 * time.Minute, Dispatched: true})
		}
		_, errs, err := s.CreateOffers(bg, ps)
		if err != nil {
			b.Fatal(err)
		}
		for i, err := range errs {
			if err != nil {
				b.Fatalf("offer %d: %v", lo+i, err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/offer")
}

// processCPU is the CPU time the process has used, user and system: on a
// shared VM it moves less from run to run than wall time.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkListOpenMatchingInputsOneNumber is dispatch's read of the open
// requests when 2,000 of them share one phone number (a partner's office):
// each request's fellows are read once a page, not once a request. b.N is
// whole reads of all 2,000.
//
//	go test -run '^$' -bench ListOpenMatchingInputsOneNumber -benchtime 5x ./store/
func BenchmarkListOpenMatchingInputsOneNumber(b *testing.B) {
	s, _ := newStore(b)
	places := livePostcodes(b)
	fill(b, 2000, func(i int) (string, error) {
		r := benchRequest(int64(i), places)
		r.Requester.Phone = "+441224000000"
		hr, err := s.CreateHelpRequest(bg, r, Idempotency{})
		if err != nil {
			return "", err
		}
		return hr.Name, nil
	})
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for tok := ""; ; {
			page, next, err := s.ListOpenMatchingInputs(bg, Page{Size: 1000, Token: tok})
			if err != nil {
				b.Fatal(err)
			}
			n += len(page)
			if tok = next; tok == "" {
				break
			}
		}
		if n != 2000 {
			b.Fatalf("%d open requests read, want 2000", n)
		}
	}
}

// BenchmarkWriteAuditTouched measures the audit record of a write that
// names no resource, which writeAudit writes once for each record the
// write touched: an erasure of a number on many records, a purge batch,
// a sweep. Each record is named three times, as a request and its
// volunteer's events name them; the write is rolled back.
//
//	go test -run '^$' -bench WriteAuditTouched ./store/
func BenchmarkWriteAuditTouched(b *testing.B) {
	s, _ := newStore(b)
	for _, n := range []int{1000, 5000, 20000} {
		touched := make([]string, 0, 3*n)
		for i := range n {
			name := fmt.Sprintf("helpRequests/%026d", i)
			touched = append(touched, name, fmt.Sprintf("volunteers/%026d", i%50), name)
		}
		rollBack := errors.New("roll back")
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			for b.Loop() {
				err := s.db.Update(func(tx *bolt.Tx) error {
					w := &writeTx{tx: tx, touched: touched}
					if err := s.writeAudit(w, []*pb.AuditRecord{{Action: "purge", Actor: "system"}}); err != nil {
						return err
					}
					return rollBack
				})
				if !errors.Is(err, rollBack) {
					b.Fatal(err)
				}
			}
		})
	}
}
