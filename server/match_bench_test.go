package server_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// aberdeenPostcodes are the live sample postcodes with their centres.
func aberdeenPostcodes(b *testing.B) []geo.PostcodeEntry {
	f, err := os.Open(samplePath)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var out []geo.PostcodeEntry
	if _, err := geo.ReadONSPD(f, func(e geo.PostcodeEntry) error {
		if !e.Terminated && strings.HasPrefix(e.Postcode, "AB1") {
			out = append(out, e)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return out
}

// seedMatching stores n volunteers around real Aberdeen postcodes (with a
// realistic mix of skills, vetting and weekly availability) and one OPEN
// shopping request per 100 volunteers; it returns the requests' names.
func seedMatching(b *testing.B, st *store.BoltStore, n int) []string {
	pcs := aberdeenPostcodes(b)
	rng := rand.New(rand.NewPCG(7, 11))
	ctx := context.Background()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				pc := pcs[(i*7919)%len(pcs)]
				v := &pb.Volunteer{
					Contact:           &pb.Contact{DisplayName: fmt.Sprintf("Volunteer %d", i), Phone: fmt.Sprintf("+4477009%05d", i%100000)},
					Home:              &pb.Location{Postcode: pc.Postcode, LatLng: &pb.LatLng{Latitude: pc.Lat + float64(i%7-3)*0.0003, Longitude: pc.Lng + float64(i%5-2)*0.0005}},
					MaxDistanceMetres: 1500 + int32(i%4)*1000,
					Capacity:          1 + int32(i%3),
					Organisation:      "aberdeen-mutual-aid",
					Vetting:           &pb.Vetting{Level: pb.Vetting_DbsLevel(1 + i%3)},
					Availability:      &pb.Availability{TimeZone: "Europe/London"},
				}
				if i%4 == 0 {
					v.Skills = append(v.Skills, "driver")
				}
				if i%9 == 0 {
					v.Skills = append(v.Skills, "dog-friendly")
				}
				for d := range 7 {
					if (i+d)%3 != 0 {
						v.Availability.Weekly = append(v.Availability.Weekly, &pb.AvailabilitySlot{
							Day: pb.DayOfWeek(d + 1), StartTime: &pb.TimeOfDay{Hours: int32(8 + i%4)}, EndTime: &pb.TimeOfDay{Hours: int32(14 + i%6)},
						})
					}
				}
				if _, err := st.CreateVolunteer(ctx, v, store.Idempotency{}); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	var names []string
	for i := 0; i < max(n/100, 10); i++ {
		pc := pcs[rng.IntN(len(pcs))]
		hr, err := st.CreateHelpRequest(ctx, &pb.HelpRequest{
			Needs:        []pb.Need{pb.Need_NEED_GROCERY_SHOPPING},
			Timing:       &pb.HelpRequest_Deadline{Deadline: timestamppb.New(time.Now().Add(72 * time.Hour))},
			Location:     &pb.Location{Postcode: pc.Postcode, LatLng: &pb.LatLng{Latitude: pc.Lat, Longitude: pc.Lng}},
			Requester:    &pb.Contact{DisplayName: "Caller", Phone: fmt.Sprintf("+4412240%05d", i)},
			Organisation: "aberdeen-mutual-aid",
		}, store.Idempotency{})
		if err != nil {
			b.Fatal(err)
		}
		names = append(names, hr.Name)
	}
	return names
}

// BenchmarkFindCandidatesGRPC measures FindCandidates (k=20) through gRPC
// against 20,000 volunteers around Aberdeen: 1, 8 and 64 callers.
//
//	go test -run '^$' -bench FindCandidatesGRPC -benchtime 20000x ./server/
func BenchmarkFindCandidatesGRPC(b *testing.B) {
	var names []string
	var next int64
	var mu sync.Mutex
	benchCallers(b, []int{1, 8, 64}, func(b *testing.B, st *store.BoltStore) {
		names = seedMatching(b, st, 20000)
	}, func(ctx context.Context, conn *grpc.ClientConn) error {
		mu.Lock()
		name := names[next%int64(len(names))]
		next++
		mu.Unlock()
		_, err := pb.NewMatchingServiceClient(conn).FindCandidates(ctx, &pb.FindCandidatesRequest{HelpRequest: name, PageSize: 20})
		return err
	})
}

// BenchmarkOfferRoundTrip is an offer made and declined through gRPC into
// bbolt: two fsync'd lifecycle writes per op. One volunteer, one fresh
// request per op (a declined volunteer is never offered a request again).
//
//	go test -run '^$' -bench OfferRoundTrip -benchtime 2000x ./server/
func BenchmarkOfferRoundTrip(b *testing.B) {
	forTransports(b, func(b *testing.B, transport string) {
		st, err := store.Open(b.TempDir() + "/doorstep.db")
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		ctx := context.Background()
		vol, err := st.CreateVolunteer(ctx, &pb.Volunteer{
			Contact: &pb.Contact{DisplayName: "V", Phone: "+447700900123"},
			Home:    &pb.Location{Postcode: "AB10 1AB", LatLng: &pb.LatLng{Latitude: 57.1496, Longitude: -2.0969}}, MaxDistanceMetres: 1500,
			Capacity: 1, Organisation: "aberdeen-mutual-aid", Vetting: &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_NONE},
			Availability: &pb.Availability{TimeZone: "Europe/London", Weekly: allWeek()},
		}, store.Idempotency{})
		if err != nil {
			b.Fatal(err)
		}
		names := make([]string, b.N)
		for i := range names {
			hr, err := st.CreateHelpRequest(ctx, &pb.HelpRequest{
				Needs:        []pb.Need{pb.Need_NEED_GROCERY_SHOPPING},
				Timing:       &pb.HelpRequest_Deadline{Deadline: timestamppb.New(time.Now().Add(48 * time.Hour))},
				Location:     &pb.Location{Postcode: "AB10 1AB", LatLng: &pb.LatLng{Latitude: 57.1497, Longitude: -2.0968}},
				Requester:    &pb.Contact{DisplayName: "C", Phone: fmt.Sprintf("+4412240%05d", i)},
				Organisation: "aberdeen-mutual-aid",
			}, store.Idempotency{})
			if err != nil {
				b.Fatal(err)
			}
			names[i] = hr.Name
		}
		client, stop := serveForBench(b, st, transport)
		defer stop()
		m := pb.NewMatchingServiceClient(client)
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			t := time.Now()
			o, err := m.CreateOffer(ctx, &pb.CreateOfferRequest{HelpRequest: names[i], Volunteer: vol.Name})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.DeclineOffer(ctx, &pb.DeclineOfferRequest{Name: o.Offer.Name}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
		b.StopTimer()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	})
}

func allWeek() []*pb.AvailabilitySlot {
	var out []*pb.AvailabilitySlot
	for d := pb.DayOfWeek_DAY_OF_WEEK_MONDAY; d <= pb.DayOfWeek_DAY_OF_WEEK_SUNDAY; d++ {
		out = append(out, &pb.AvailabilitySlot{Day: d, StartTime: &pb.TimeOfDay{}, EndTime: &pb.TimeOfDay{Hours: 24}})
	}
	return out
}

// dispatchScale multiplies BenchmarkDispatchGRPC's volunteers and
// requests: 10 is the 200,000 and 20,000.
var dispatchScale = flag.Int("dispatch-scale", 1, "BenchmarkDispatchGRPC at this many times 20,000 volunteers and 2,000 open requests")

// BenchmarkDispatchGRPC is a Dispatch call through gRPC against 20,000
// volunteers with 2,000 open requests: reading the requests, planning, and
// writing the offers into bbolt. Each op dispatches a fresh store.
//
//	go test -run '^$' -bench DispatchGRPC -benchtime 2x ./server/
//	go test -run '^$' -bench DispatchGRPC/bufconn -benchtime 1x ./server/ -args -dispatch-scale 10
func BenchmarkDispatchGRPC(b *testing.B) {
	scale := max(*dispatchScale, 1)
	forTransports(b, func(b *testing.B, transport string) {
		for range b.N {
			b.StopTimer()
			st, err := store.Open(b.TempDir() + "/doorstep.db")
			if err != nil {
				b.Fatal(err)
			}
			seedMatching(b, st, scale*20_000) // and one request per 100 volunteers
			pcs := aberdeenPostcodes(b)
			ctx := context.Background()
			var wg sync.WaitGroup
			const creators = 16 // concurrent, so that their commits are grouped
			for c := range creators {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := c; i < scale*1800; i += creators {
						pc := pcs[(i*104729)%len(pcs)]
						if _, err := st.CreateHelpRequest(ctx, &pb.HelpRequest{
							Needs:        []pb.Need{pb.Need_NEED_GROCERY_SHOPPING},
							Timing:       &pb.HelpRequest_Deadline{Deadline: timestamppb.New(time.Now().Add(72 * time.Hour))},
							Location:     &pb.Location{Postcode: pc.Postcode, LatLng: &pb.LatLng{Latitude: pc.Lat, Longitude: pc.Lng}},
							Requester:    &pb.Contact{DisplayName: "Caller", Phone: fmt.Sprintf("+4412241%05d", i)},
							Organisation: "aberdeen-mutual-aid",
						}, store.Idempotency{}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			conn, stop := serveForBench(b, st, transport)
			b.StartTimer()
			resp, err := pb.NewMatchingServiceClient(conn).Dispatch(ctx, &pb.DispatchRequest{})
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(resp.OffersMade), "offers")
			b.ReportMetric(float64(resp.OpenRequests), "open")
			stop()
			st.Close()
			b.StartTimer()
		}
	})
}

var (
	startVolunteers = flag.Int("start-volunteers", 200_000, "BenchmarkServerStart over a store of this many volunteers")
	startFile       = flag.String("start-file", "", "BenchmarkServerStart's store: seeded and kept when missing, used as it is when present")
)

// startChildEnv names, in BenchmarkServerStart's child, the store to start
// from (TestMain, startBenchChild).
const startChildEnv = "DOORSTEP_BENCH_START"

// BenchmarkServerStart is the matching engine's load as doorstepd starts:
// every volunteer read from a bbolt file (their contacts opened, for the
// names candidates carry) into a new engine, as server.New does. The
// issue's target is 5 s for 1M stored volunteers; seeding that many takes
// minutes, so the default is 200,000 and -start-volunteers 1000000 is the
// target's own size. -start-file keeps the seeded store for another run.
//
// Each start runs in a fresh process, this test binary run again, as
// doorstepd does: a process that has loaded once before has its heap
// grown and its pages mapped already, and on this VM the first touch of
// fresh memory costs several microseconds a page (a load of 1M took
// 4.8 s in a process that had loaded before, 5.2-6.0 s in fresh ones,
// the open left out).
// The child takes doorstepd's GC target. It reports the store's open
// (bbolt rebuilds its free list by walking every page) apart from the
// index build proper (server.New), and the page faults the build took.
// A last start, untimed, begins with the store dropped from the page
// cache, as after a reboot (cold-start-s, open and build; Linux only).
//
//	GOGC=400 go test -run '^$' -bench ServerStart -benchtime 2x ./server/ -args -start-volunteers 1000000
func BenchmarkServerStart(b *testing.B) {
	path := *startFile
	if path == "" {
		path = filepath.Join(b.TempDir(), "doorstep.db")
	}
	if _, err := os.Stat(path); err != nil {
		st, err := store.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		seedMatching(b, st, *startVolunteers)
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	var sum startReport
	b.ResetTimer()
	for b.Loop() {
		r := runStartChild(b, exe, path)
		sum.open += r.open
		sum.build += r.build
		sum.cpu += r.cpu
		sum.faults += r.faults
		sum.volunteers = r.volunteers
	}
	n := float64(b.N)
	build := sum.build.Seconds() / n
	b.ReportMetric(build, "build-s")
	b.ReportMetric((sum.open+sum.build).Seconds()/n, "start-s")
	b.ReportMetric(sum.cpu.Seconds()/n, "build-cpu-s")
	b.ReportMetric(float64(sum.faults)/n/float64(sum.volunteers), "faults/volunteer")
	b.ReportMetric(build*1e6/float64(sum.volunteers), "µs/volunteer")
	b.ReportMetric(float64(sum.volunteers), "volunteers")

	// Once more with the store out of the page cache, as after a reboot.
	b.StopTimer()
	resident, err := evictFromPageCache(path)
	switch {
	case err != nil:
		b.Logf("no cold start: %v", err)
	case resident > 0.01:
		b.Logf("no cold start: %.0f%% of the store stayed in the page cache", 100*resident)
	default:
		r := runStartChild(b, exe, path)
		b.ReportMetric((r.open + r.build).Seconds(), "cold-start-s")
	}
}

// runStartChild runs one start in a fresh process (startBenchChild).
func runStartChild(b *testing.B, exe, path string) startReport {
	b.Helper()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), startChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("start: %v", err)
	}
	var r startReport
	if _, err := fmt.Sscan(string(out), &r.open, &r.build, &r.cpu, &r.faults, &r.volunteers); err != nil {
		b.Fatalf("start: %q: %v", out, err)
	}
	return r
}

// startReport is what startBenchChild prints.
type startReport struct {
	open, build, cpu   time.Duration
	faults, volunteers int64
}

// startBenchChild is BenchmarkServerStart's child: it opens the store at
// path and makes a server from it, as doorstepd does, and prints a
// startReport: the open's and the build's time and the build's CPU time,
// in nanoseconds, the page faults the build took, and how many volunteers
// it loaded. DOORSTEP_BENCH_START_PROFILE and _MEMPROFILE name files for
// a CPU profile and an allocation profile.
func startBenchChild(path string) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400) // doorstepd's own default (--gc-percent)
	}
	if prof := os.Getenv("DOORSTEP_BENCH_START_PROFILE"); prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	st, err := store.Open(path)
	if err != nil {
		return err
	}
	defer st.Close()
	opened, before := time.Now(), usage()
	if _, err := server.New(st, zap.NewNop()); err != nil {
		return err
	}
	built, after := time.Now(), usage()
	if prof := os.Getenv("DOORSTEP_BENCH_START_MEMPROFILE"); prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	n, err := st.CountVolunteers(context.Background())
	if err != nil {
		return err
	}
	fmt.Println(opened.Sub(start).Nanoseconds(), built.Sub(opened).Nanoseconds(), after.cpu-before.cpu, after.faults-before.faults, n)
	return nil
}
