package server_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// metered is a harness whose server counts into metrics, scraped over
// HTTP as Prometheus would, from a registry set up as doorstepd's is.
type metered struct {
	*harness
	scrapeURL string
}

func newMetered(t *testing.T, clock *testClock, opts ...server.Option) *metered {
	t.Helper()
	m, url := newScraped(t)
	return &metered{harness: newHarnessWithClock(t, clock, append(opts, server.WithMetrics(m))...), scrapeURL: url}
}

// newScraped returns metrics counting from zero, registered as doorstepd
// registers them, and the URL they are scraped at.
func newScraped(t testing.TB) (*server.Metrics, string) {
	t.Helper()
	m := server.NewMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), m)
	web := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(web.Close)
	return m, web.URL
}

// restart serves h's data file again as a new doorstepd would, with
// opts and metrics of its own, counting from zero.
func (m *metered) restart(opts ...server.Option) {
	m.t.Helper()
	metrics, url := newScraped(m.t)
	m.opts = append(opts, server.WithMetrics(metrics))
	m.scrapeURL = url
	m.reopen()
}

// scrape returns the exposition text.
func (m *metered) scrape() string {
	m.t.Helper()
	resp, err := http.Get(m.scrapeURL)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		m.t.Fatalf("scrape: %s %v", resp.Status, err)
	}
	return string(body)
}

// samples reads the exposition text as series (name and labels, as
// written, labels in name order) to value.
func samples(t testing.TB, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// want checks each series' value; a series missing reads as 0.
func (m *metered) want(what string, want map[string]float64) {
	m.t.Helper()
	got := samples(m.t, m.scrape())
	for series, v := range want {
		if got[series] != v {
			m.t.Errorf("%s: %s = %v, want %v", what, series, got[series], v)
		}
	}
}

func handled(service, method, code string) string {
	return `grpc_server_handled_total{grpc_code="` + code + `",grpc_method="` + method + `",grpc_service="doorstep.v1.` + service + `"}`
}

func ended(outcome, via string) string {
	return `doorstep_offers_ended_total{outcome="` + outcome + `",via="` + via + `"}`
}

// TestMetricsCountOffers: three offers by hand, one accepted, one declined
// and one left to lapse, which the sweep expires; then a dispatch offers
// the two open requests again, and the sweep expires both when their time
// has passed. Each counter moves by exactly what was done.
func TestMetricsCountOffers(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newMetered(t, clock)
	var vols, hrs []string
	for i, who := range []string{"Ann", "Bea", "Cat"} {
		vols = append(vols, h.createVol(matchVolunteer(who, "AB10 1AB")).Name)
		hrs = append(hrs, h.createHR(shopping(callerPhone("01224 00000"+strconv.Itoa(i)))).Name)
	}
	h.want("before any offer", map[string]float64{
		"doorstep_matching_volunteers":           3,
		`doorstep_offers_made_total{via="hand"}`: 0, ended("accepted", "hand"): 0,
	})

	var offers []*pb.Offer
	for i := range hrs {
		offers = append(offers, h.offer(hrs[i], vols[i]))
	}
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: offers[0].Name}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: offers[1].Name}); err != nil {
		t.Fatal(err)
	}
	clock.advance(31 * time.Minute) // past the third offer's lease
	h.srv.Sweep(h.ctx)
	h.want("by hand", map[string]float64{
		`doorstep_offers_made_total{via="hand"}`:                  3,
		`doorstep_offers_made_total{via="dispatch"}`:              0,
		ended("accepted", "hand"):                                 1,
		ended("declined", "hand"):                                 1,
		ended("expired", "hand"):                                  1,
		ended("withdrawn", "hand"):                                0,
		`doorstep_sweep_requests_expired_total{urgency="normal"}`: 0,
		handled("MatchingService", "CreateOffer", "OK"):           3,
		handled("MatchingService", "AcceptOffer", "OK"):           1,
		handled("MatchingService", "DeclineOffer", "OK"):          1,
		`grpc_server_handling_seconds_count{grpc_method="CreateOffer",grpc_service="doorstep.v1.MatchingService"}`: 3,
	})

	// Bea declined the second request and Cat let the third lapse: each
	// is offered the other's.
	d, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if d.OffersMade != 2 || d.OpenRequests != 2 {
		t.Fatalf("dispatch: %d offers for %d open requests, want 2 for 2", d.OffersMade, d.OpenRequests)
	}
	h.want("dispatched", map[string]float64{
		`doorstep_dispatch_runs_total{trigger="rpc"}`:          1,
		`doorstep_dispatch_runs_total{trigger="interval"}`:     0,
		`doorstep_offers_made_total{via="dispatch"}`:           2,
		`doorstep_offers_made_total{via="hand"}`:               3,
		`doorstep_dispatch_requests_total{result="offered"}`:   2,
		`doorstep_dispatch_requests_total{result="left_open"}`: 0,
		"doorstep_dispatch_duration_seconds_count":             1,
	})

	// One request is cancelled, withdrawing its dispatched offer; the
	// other's time passes, and the sweep lapses its offer and expires it.
	// The accepted one is left alone.
	if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: hrs[1]}); err != nil {
		t.Fatal(err)
	}
	clock.advance(6 * time.Hour)
	h.srv.Sweep(h.ctx)
	h.want("cancelled and expired", map[string]float64{
		`doorstep_sweep_requests_expired_total{urgency="normal"}`:   1,
		`doorstep_sweep_requests_expired_total{urgency="critical"}`: 0,
		ended("withdrawn", "dispatch"):                              1,
		ended("expired", "dispatch"):                                1,
		ended("accepted", "hand"):                                   1,
		ended("expired", "hand"):                                    1,
		ended("withdrawn", "hand"):                                  0,
	})
}

// TestMetricsCountRefusals: calls refused before their handler runs (no
// token, a token the rate limit holds back) are counted by their code,
// as are the handlers' own refusals and a stream's.
func TestMetricsCountRefusals(t *testing.T) {
	h := newMetered(t, nil, server.WithRateLimit(0.001, 1)) // one call per token, then refused for a long while
	// Each case calls with a token of its own, which the rate limit lets
	// make one call, or with none.
	type clients struct {
		hr pb.HelpRequestServiceClient
		ev pb.EventServiceClient
	}
	for _, tc := range []struct {
		name    string
		noToken bool
		call    func(c clients) error
		code    codes.Code
		series  string
	}{
		{"no token", true, func(c clients) error {
			_, err := c.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{})
			return err
		}, codes.Unauthenticated, handled("HelpRequestService", "ListHelpRequests", "Unauthenticated")},
		{"rate limited", false, func(c clients) error {
			if _, err := c.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{}); err != nil {
				return err
			}
			_, err := c.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{})
			return err
		}, codes.ResourceExhausted, handled("HelpRequestService", "ListHelpRequests", "ResourceExhausted")},
		{"bad name", false, func(c clients) error {
			_, err := c.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: "helpRequests/not-an-id"})
			return err
		}, codes.InvalidArgument, handled("HelpRequestService", "GetHelpRequest", "InvalidArgument")},
		{"not found", false, func(c clients) error {
			_, err := c.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: "helpRequests/01hzzzzzzzzzzzzzzzzzzzzzzz"})
			return err
		}, codes.NotFound, handled("HelpRequestService", "GetHelpRequest", "NotFound")},
		{"stream without token", true, func(c clients) error {
			s, err := c.ev.WatchEvents(h.ctx, &pb.WatchEventsRequest{})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}, codes.Unauthenticated, handled("EventService", "WatchEvents", "Unauthenticated")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret := ""
			if !tc.noToken {
				secret = h.newToken(h.st, &pb.Token{DisplayName: tc.name, Role: pb.Role_ROLE_COORDINATOR})
			}
			conn := h.as(secret)
			if err := tc.call(clients{pb.NewHelpRequestServiceClient(conn), pb.NewEventServiceClient(conn)}); status.Code(err) != tc.code {
				t.Fatalf("%v, want %v", err, tc.code)
			}
			h.want(tc.name, map[string]float64{tc.series: 1})
		})
	}
}

// TestMetricsEventStreamsOpen: the gauge counts streams while they are
// open, and the stream's call is counted once it ends.
func TestMetricsEventStreamsOpen(t *testing.T) {
	h := newMetered(t, nil)
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	var streams []pb.EventService_WatchEventsClient
	for range 2 {
		s, err := h.ev.WatchEvents(ctx, &pb.WatchEventsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, s)
	}
	h.createHR(shopping()) // each stream hears of it: both are open
	for _, s := range streams {
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	h.want("open", map[string]float64{"doorstep_event_streams_open": 2})
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := samples(t, h.scrape())
		if got["doorstep_event_streams_open"] == 0 && got[handled("EventService", "WatchEvents", "Canceled")] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after both streams ended: open %v, WatchEvents Canceled %v; want 0 and 2",
				got["doorstep_event_streams_open"], got[handled("EventService", "WatchEvents", "Canceled")])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMetricsDispatchByInterval: a run of --dispatch-every counts as
// trigger interval.
func TestMetricsDispatchByInterval(t *testing.T) {
	h := newMetered(t, nil)
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.srv.Maintain(ctx, time.Hour, 5*time.Millisecond) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for samples(t, h.scrape())[`doorstep_dispatch_runs_total{trigger="interval"}`] == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no interval dispatch run counted in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.want("interval", map[string]float64{`doorstep_dispatch_runs_total{trigger="rpc"}`: 0})
}

// TestMetricsCountBackups: a backup made is counted and dated; one that
// cannot be written is counted as failed and leaves the date alone.
func TestMetricsCountBackups(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		dir          string
		made, failed float64
	}{
		{"made", t.TempDir(), 1, 0},
		{"failed", notADir, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newMetered(t, nil, server.WithBackupDir(tc.dir))
			before := time.Now()
			_, err := pb.NewAdminServiceClient(h.conn).CreateBackup(h.ctx, &pb.CreateBackupRequest{})
			if (err == nil) != (tc.made == 1) {
				t.Fatalf("CreateBackup: %v", err)
			}
			got := samples(t, h.scrape())
			if got[`doorstep_backups_total{outcome="made"}`] != tc.made || got[`doorstep_backups_total{outcome="failed"}`] != tc.failed {
				t.Errorf("made %v failed %v, want %v and %v", got[`doorstep_backups_total{outcome="made"}`], got[`doorstep_backups_total{outcome="failed"}`], tc.made, tc.failed)
			}
			last := got["doorstep_last_backup_timestamp_seconds"]
			if tc.made == 1 && (last < float64(before.Unix()-1) || last > float64(time.Now().Unix()+1)) {
				t.Errorf("last backup at %v, want about %v", last, before.Unix())
			}
			if tc.made == 0 && last != 0 {
				t.Errorf("last backup at %v after a failed one only, want 0", last)
			}
		})
	}
}

// TestMetricsCarryNoPersonalData: records full of distinctive names,
// phone numbers, postcodes, streets, notes and organisation names, driven
// through every kind of call (reads, writes, offers, dispatch, streams,
// refusals that echo what was sent back to the caller), leave none of it,
// nor any resource id or token, in what a scrape shows. Labels are fixed
// words, and nothing a caller sends becomes one.
func TestMetricsCarryNoPersonalData(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newMetered(t, clock, server.WithBackupDir(t.TempDir()))
	admin := pb.NewAdminServiceClient(h.conn)
	const org = "quillfeather-kinship-aid"
	if _, err := admin.CreateOrganisation(h.ctx, &pb.CreateOrganisationRequest{Organisation: &pb.Organisation{
		Name: "organisations/" + org, DisplayName: "Quillfeather Kinship Aid"}}); err != nil {
		t.Fatal(err)
	}
	tok, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "Zebedee's helpline desk", Role: pb.Role_ROLE_HELPLINE}})
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{
		"Zebedee", "Quillfeather", "Ottoline", "Marchbanks", "Xylophone", "Thursday lessons", "Wendigo Lane", "Kinship",
		"07700 900777", "7700900777", "01224 555919", "1224555919", "AB11 5QN", "ab11 5qn", "AB11", "Flat 9", org,
		tok.Secret, h.adminSecret,
	}
	vol := h.createVol(matchVolunteer("Ottoline Marchbanks", "AB11 5QN", func(v *pb.Volunteer) {
		v.Contact.Phone = "07700 900777"
		v.Home.Street = "Wendigo Lane"
		v.Organisation = org
	}))
	hr := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Requester = &pb.Contact{DisplayName: "Zebedee Quillfeather", Phone: "01224 555919"}
		r.Details = "Xylophone needs tuning before the Thursday lessons"
		r.Location = &pb.Location{Postcode: "ab11 5qn", Street: "Wendigo Lane", AddressLines: []string{"Flat 9", "3 Wendigo Lane"}}
		r.Organisation = org
	}))
	secrets = append(secrets, hr.Name, vol.Name, strings.TrimPrefix(hr.Name, "helpRequests/"), strings.TrimPrefix(vol.Name, "volunteers/"))

	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	watch, err := h.ev.WatchEvents(ctx, &pb.WatchEventsRequest{Organisation: org})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Fatal(err)
	}
	helpline := h.as(tok.Secret)
	calls := []func() error{
		func() error {
			_, err := pb.NewHelpRequestServiceClient(helpline).ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{RequesterPhone: "01224 555919"})
			return err
		},
		func() error {
			_, err := h.vol.ListVolunteers(h.ctx, &pb.ListVolunteersRequest{Phone: "07700 900777", Organisation: org})
			return err
		},
		func() error {
			_, err := h.gz.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "AB11 5QN"})
			return err
		},
		func() error {
			_, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name})
			return err
		},
		func() error {
			o, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: vol.Name})
			if err != nil {
				return err
			}
			_, err = h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: o.Offer.Name})
			return err
		},
		func() error { _, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{}); return err },
		func() error { _, err := admin.CreateBackup(h.ctx, &pb.CreateBackupRequest{}); return err },
		func() error {
			_, err := admin.ExportPersonalData(h.ctx, &pb.ExportPersonalDataRequest{Phone: "01224 555919"})
			return err
		},
		// Refusals, which name what was wrong with what was sent.
		func() error {
			_, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: "helpRequests/Zebedee Quillfeather"})
			return err
		},
		func() error {
			_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: &pb.HelpRequest{
				Requester: &pb.Contact{DisplayName: "Zebedee Quillfeather", Phone: "Marchbanks"}, Details: "Xylophone",
				Location: &pb.Location{Postcode: "AB11 5QN", Street: "Wendigo Lane"}, Organisation: org}})
			return err
		},
		func() error {
			_, err := pb.NewVolunteerServiceClient(h.as("Quillfeather-not-a-token")).GetVolunteer(h.ctx, &pb.GetVolunteerRequest{Name: vol.Name})
			return err
		},
		func() error {
			_, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: "offers/01hzzzzzzzzzzzzzzzzzzzzzzz", HelpRequestEtag: "Ottoline"})
			return err
		},
		func() error {
			_, err := healthpb.NewHealthClient(h.conn).Check(h.ctx, &healthpb.HealthCheckRequest{Service: "Zebedee"})
			return err
		},
	}
	failed := 0
	for _, c := range calls {
		if c() != nil {
			failed++
		}
	}
	if failed < 5 {
		t.Fatalf("only %d of the calls failed: the refusals were not driven", failed)
	}
	clock.advance(6 * time.Hour)
	h.srv.Sweep(h.ctx)

	text := h.scrape()
	if !strings.Contains(text, `grpc_code="InvalidArgument"`) || !strings.Contains(text, "doorstep_offers_ended_total") {
		t.Fatalf("the scrape lacks the calls made:\n%s", text)
	}
	lower := strings.ToLower(text)
	for _, s := range secrets {
		if strings.Contains(lower, strings.ToLower(s)) {
			t.Errorf("the scrape shows %q", s)
		}
	}
	// Every label value is a word of a fixed vocabulary.
	for series := range samples(t, text) {
		_, labels, ok := strings.Cut(series, "{")
		if !ok {
			continue
		}
		for _, kv := range strings.Split(strings.TrimSuffix(labels, "}"), ",") {
			k, v, _ := strings.Cut(kv, "=")
			if !fixedLabel(k, strings.Trim(v, `"`)) {
				t.Errorf("series %s: label %s=%s is not of a fixed vocabulary", series, k, v)
			}
		}
	}
}

// fixedLabel says whether v is a value label k may take.
func fixedLabel(k, v string) bool {
	switch k {
	case "grpc_service":
		return strings.HasPrefix(v, "doorstep.v1.") || strings.HasPrefix(v, "grpc.")
	case "grpc_method":
		for _, c := range v {
			if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
				return false
			}
		}
		return v != ""
	case "grpc_code":
		for c := codes.OK; c <= codes.Unauthenticated; c++ {
			if v == c.String() {
				return true
			}
		}
		return false
	case "via":
		return v == "hand" || v == "dispatch"
	case "outcome":
		return strings.Contains(" accepted declined expired withdrawn made failed ", " "+v+" ")
	case "trigger":
		return v == "rpc" || v == "interval" || v == "urgent"
	case "result":
		return v == "offered" || v == "left_open"
	case "urgency":
		return strings.Contains(" unspecified low normal high critical ", " "+v+" ")
	case "le", "quantile", "version", "generation":
		// Buckets and quantiles (numbers); the Go collector's go_info
		// version; its GC generation.
		return true
	}
	return false
}
