package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

func TestParseConfig(t *testing.T) {
	env := map[string]string{"DOORSTEP_LISTEN": "127.0.0.1:6000", "DOORSTEP_DATA_DIR": "/env/dir", "DOORSTEP_SHUTDOWN_TIMEOUT": "3s"}
	c, err := parseConfig([]string{"--data-dir", "/flag/dir"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != "127.0.0.1:6000" || c.dataDir != "/flag/dir" || c.shutdownTimeout != 3*time.Second || c.logLevel != "info" {
		t.Errorf("config %+v: flags must win over environment, environment over defaults", c)
	}
	c, err = parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil || c.listen != "localhost:50051" || c.dataDir != "./doorstep-data" || c.maxRecvBytes != 1<<20 {
		t.Errorf("defaults %+v, %v", c, err)
	}
	if c.gcPercent != defaultGCPercent {
		t.Errorf("gc percent %d by default, want %d", c.gcPercent, defaultGCPercent)
	}
	// An operator's GOGC is left alone unless the flag says otherwise.
	gogc := func(k string) string { return map[string]string{"GOGC": "200"}[k] }
	if c, err := parseConfig(nil, gogc, io.Discard); err != nil || c.gcPercent != 0 {
		t.Errorf("with GOGC set: gc percent %d, %v; want 0 (the runtime's)", c.gcPercent, err)
	}
	if c, err := parseConfig([]string{"--gc-percent", "150"}, gogc, io.Discard); err != nil || c.gcPercent != 150 {
		t.Errorf("--gc-percent 150 with GOGC set: %d, %v", c.gcPercent, err)
	}
	if c.dispatchCands != 20 {
		t.Errorf("dispatch candidates %d by default, want 20", c.dispatchCands)
	}
	if c.pauseAfter != 3 {
		t.Errorf("pause after %d unanswered offers by default, want 3", c.pauseAfter)
	}
	never := func(k string) string { return map[string]string{"DOORSTEP_PAUSE_AFTER_UNANSWERED": "0"}[k] }
	if c, err := parseConfig(nil, never, io.Discard); err != nil || c.pauseAfter != 0 {
		t.Errorf("DOORSTEP_PAUSE_AFTER_UNANSWERED=0: %v, %v; want 0 (never)", c.pauseAfter, err)
	}
	if c.assignmentGrace != 7*24*time.Hour {
		t.Errorf("assignment grace %v by default, want a week", c.assignmentGrace)
	}
	grace := func(k string) string { return map[string]string{"DOORSTEP_ASSIGNMENT_GRACE": "72h"}[k] }
	if c, err := parseConfig(nil, grace, io.Discard); err != nil || c.assignmentGrace != 72*time.Hour {
		t.Errorf("DOORSTEP_ASSIGNMENT_GRACE=72h: %v, %v", c.assignmentGrace, err)
	}
	bad := [][]string{{"--log-format", "xml"}, {"--gc-percent", "-5"}, {"--dispatch-candidates", "0"}, {"--dispatch-candidates", "101"}, {"--pause-after-unanswered", "-1"}, {"--pause-after-unanswered", "1001"}, {"--max-recv-bytes", "10"}, {"extra"}, {"--no-such-flag"},
		{"--tls-cert", "c.pem"}, {"--tls-client-ca", "ca.pem"}, {"--rate-burst", "0"}, {"--rate-limit", "-1"}, {"--event-retention", "-1h"}, {"--assignment-grace", "-1h"},
		{"--sweep-every", "1ns"}, {"--dispatch-every", "1ns"}, {"--event-retention", "1ms"}, {"--personal-data-retention", "30s"}, {"--assignment-grace", "5m"}, {"--listen", "50051"}, {"--listen", "localhost"}}
	for _, args := range bad {
		if _, err := parseConfig(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("parseConfig(%v) accepted", args)
		}
	}
	badEnv := func(k string) string {
		return map[string]string{"DOORSTEP_SHUTDOWN_TIMEOUT": "soon", "DOORSTEP_DISPATCH_EVERY": "5"}[k]
	}
	if _, err := parseConfig(nil, badEnv, io.Discard); err == nil || !strings.Contains(err.Error(), "DOORSTEP_") {
		t.Errorf("bad DOORSTEP_SHUTDOWN_TIMEOUT and DOORSTEP_DISPATCH_EVERY: %v, want an error naming the variable", err)
	}
	// The refusal says what the variable wants, as the old one did
	// ("missing unit in duration"): the flag package's "parse error" does not.
	for k, want := range map[string]string{"DOORSTEP_DISPATCH_EVERY": "a duration", "DOORSTEP_RATE_BURST": "a whole number", "DOORSTEP_INSECURE": "true or false"} {
		_, err := parseConfig(nil, func(name string) string { return map[string]string{k: "yes please"}[name] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), k+`="yes please"`) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=yes please: %v, want it to say %q", k, err, want)
		}
	}
	// A number in a variable is decimal, as it always was: not octal
	// for a leading zero, as the flag package would read it.
	decimal := func(k string) string {
		return map[string]string{"DOORSTEP_GC_PERCENT": "0400", "DOORSTEP_RATE_BURST": "08"}[k]
	}
	if c, err := parseConfig(nil, decimal, io.Discard); err != nil || c.gcPercent != 400 || c.rateBurst != 8 {
		t.Errorf("DOORSTEP_GC_PERCENT=0400, DOORSTEP_RATE_BURST=08: %d, %d, %v", c.gcPercent, c.rateBurst, err)
	}
	if _, err := parseConfig(nil, func(k string) string { return map[string]string{"DOORSTEP_MAX_STREAMS": "1_000"}[k] }, io.Discard); err == nil {
		t.Error("DOORSTEP_MAX_STREAMS=1_000 accepted")
	}
	// A flag wins over its variable, even one that could not be read.
	if c, err := parseConfig([]string{"--shutdown-timeout", "4s", "--dispatch-every", "5m"}, badEnv, io.Discard); err != nil ||
		c.shutdownTimeout != 4*time.Second || c.dispatchEvery != 5*time.Minute {
		t.Errorf("flags over bad variables: %+v, %v", c, err)
	}
}

// start runs doorstepd in-process and returns its address and a stop
// function that returns run's error.
func start(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, append([]string{"--listen", "127.0.0.1:0", "--log-level", "error"}, args...), func(string) string { return "" }, io.Discard, ready)
	}()
	select {
	case addr := <-ready:
		return addr.String(), func() error { cancel(); return <-done }
	case err := <-done:
		cancel()
		t.Fatalf("doorstepd did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("doorstepd did not start in 30s")
	}
	return "", nil
}

func TestServeStoreAndStopGracefully(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	addr, stop := start(t, "--data-dir", dir, "--gazetteer", "../../testdata/onspd_aberdeen_sample.csv", "--admin-token-file", tokenFile)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(readToken(t, tokenFile))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", h, err)
	}
	resp, err := pb.NewHelpRequestServiceClient(conn).CreateHelpRequest(ctx, &pb.CreateHelpRequestRequest{HelpRequest: &pb.HelpRequest{
		Needs:        []pb.Need{pb.Need_NEED_HOT_MEAL},
		Timing:       &pb.HelpRequest_Deadline{Deadline: timestamppb.New(time.Now().Add(time.Hour))},
		Location:     &pb.Location{Postcode: "AB10 1AB"},
		Requester:    &pb.Contact{DisplayName: "Agnes", Phone: "01224 000111"},
		Organisation: "aberdeen-mutual-aid",
	}})
	if err != nil {
		t.Fatal(err)
	}

	// A second server on the same data directory is refused, not corrupting.
	ctx2, cancel2 := context.WithTimeout(ctx, 30*time.Second)
	defer cancel2()
	err = run(ctx2, nil, []string{"--listen", "127.0.0.1:0", "--data-dir", dir, "--log-level", "error"}, func(string) string { return "" }, io.Discard, nil)
	if !errors.Is(err, store.ErrInUse) {
		t.Errorf("second server on the same data: %v, want ErrInUse", err)
	}

	if err := stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	// Everything is on disk after the stop.
	st, err := store.Open(dir + "/doorstep.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.GetHelpRequest(ctx, strings.TrimPrefix(resp.HelpRequest.Name, "helpRequests/")); err != nil {
		t.Errorf("request after restart: %v", err)
	}
	if _, err := st.LookupPostcode(ctx, "AB10 1AB"); err != nil {
		t.Errorf("gazetteer after restart: %v", err)
	}
}

func TestBadGazetteerStopsStart(t *testing.T) {
	err := run(context.Background(), nil, []string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--gazetteer", "/no/such/file.csv"},
		func(string) string { return "" }, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "gazetteer") {
		t.Errorf("missing gazetteer file: %v", err)
	}
}

// TestMatchingConfigFile: --matching-config reaches the engine (a shopping
// reach of 3 km finds a volunteer 2 km away, beyond the default 1.5 km),
// and a mistake in the file stops the start, naming the field.
func TestMatchingConfigFile(t *testing.T) {
	write := func(body string) string {
		p := filepath.Join(t.TempDir(), "matching.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct{ file, want string }{
		{"/no/such/matching.json", "--matching-config"},
		{write(`{"needs": {"transport": {"max_metres": -1}}}`), "needs.transport.max_metres: must be from 100 to 100000 metres"},
	} {
		err := run(context.Background(), nil, []string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--matching-config", tc.file},
			func(string) string { return "" }, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--matching-config %s: %v, want it to say %q", tc.file, err, tc.want)
		}
	}

	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	addr, stop := start(t, "--data-dir", t.TempDir(), "--gazetteer", "../../testdata/onspd_aberdeen_sample.csv", "--admin-token-file", tokenFile,
		"--matching-config", write(`{"needs": {"grocery_shopping": {"max_metres": 3000}}}`))
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(readToken(t, tokenFile))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	var week []*pb.AvailabilitySlot
	for d := pb.DayOfWeek_DAY_OF_WEEK_MONDAY; d <= pb.DayOfWeek_DAY_OF_WEEK_SUNDAY; d++ {
		week = append(week, &pb.AvailabilitySlot{Day: d, StartTime: &pb.TimeOfDay{}, EndTime: &pb.TimeOfDay{Hours: 24}})
	}
	vol, err := pb.NewVolunteerServiceClient(conn).CreateVolunteer(ctx, &pb.CreateVolunteerRequest{Volunteer: &pb.Volunteer{
		Contact:           &pb.Contact{DisplayName: "Fiona", Phone: "07700 900555"},
		Home:              &pb.Location{Postcode: "AB10 1AB", LatLng: &pb.LatLng{Latitude: 57.1316, Longitude: -2.1100}}, // about 2 km away
		MaxDistanceMetres: 5000, Capacity: 1, Organisation: "aberdeen-mutual-aid",
		Availability: &pb.Availability{Weekly: week},
	}})
	if err != nil {
		t.Fatal(err)
	}
	hr, err := pb.NewHelpRequestServiceClient(conn).CreateHelpRequest(ctx, &pb.CreateHelpRequestRequest{HelpRequest: &pb.HelpRequest{
		Needs:        []pb.Need{pb.Need_NEED_GROCERY_SHOPPING},
		Timing:       &pb.HelpRequest_Deadline{Deadline: timestamppb.New(time.Now().Add(24 * time.Hour))},
		Location:     &pb.Location{Postcode: "AB10 1AB"},
		Requester:    &pb.Contact{DisplayName: "Agnes", Phone: "01224 000111"},
		Organisation: "aberdeen-mutual-aid",
	}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := pb.NewMatchingServiceClient(conn).FindCandidates(ctx, &pb.FindCandidatesRequest{HelpRequest: hr.HelpRequest.Name})
	if err != nil || len(resp.Candidates) != 1 || resp.Candidates[0].Volunteer != vol.Volunteer.Name {
		t.Errorf("with shopping reaching 3 km: candidates %v (%q), %v; want Fiona, 2 km away", resp.GetCandidates(), resp.GetSummary(), err)
	}
}
