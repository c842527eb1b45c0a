package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/doorstep-aid/doorstep/internal/readmetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// readmeMetric is one row of the README's table under "Metrics": what an
// operator writes alerts and dashboards against.
type readmeMetric struct {
	typ    string
	labels map[string][]string // label name to the words listed for it (none: not listed)
}

// readmeMetricsTable reads the table of metrics from README.md. A labels
// cell is labels separated by ";", each either a list of names
// ("`grpc_service`, `grpc_method`") or one name and its words
// ("`via`: `hand`, `dispatch`").
func readmeMetricsTable(t *testing.T) map[string]readmeMetric {
	t.Helper()
	section := readmetest.Section(t, "Metrics")
	words := readmetest.Code
	rows := map[string]readmeMetric{}
	for _, cols := range readmetest.Rows(t, section, "`", 4, "| metric | type | labels | what |") {
		name := words(cols[0])
		if len(name) != 1 {
			t.Fatalf("README metric row %q: want one metric name", cols)
		}
		r := readmeMetric{typ: strings.TrimSpace(cols[1]), labels: map[string][]string{}}
		for _, part := range strings.Split(cols[2], ";") {
			if label, vals, ok := strings.Cut(part, ":"); ok {
				r.labels[words(label)[0]] = words(vals)
				continue
			}
			for _, l := range words(part) {
				r.labels[l] = nil
			}
		}
		rows[name[0]] = r
	}
	if len(rows) == 0 {
		t.Fatal("README.md: no table of metrics under Metrics")
	}
	return rows
}

// scrapedMetric is one family of a real scrape: its type and, for each
// label, the values seen.
type scrapedMetric struct {
	typ    string
	labels map[string]map[string]bool
}

var (
	typeLineRE = regexp.MustCompile(`^# TYPE (\S+) (\S+)$`)
	sampleRE   = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? `)
	labelRE    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// parseScrape reads Prometheus' text format into families by name.
func parseScrape(t *testing.T, text string) map[string]*scrapedMetric {
	t.Helper()
	fams := map[string]*scrapedMetric{}
	for _, line := range strings.Split(text, "\n") {
		if m := typeLineRE.FindStringSubmatch(line); m != nil {
			fams[m[1]] = &scrapedMetric{typ: m[2], labels: map[string]map[string]bool{}}
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name := m[1]
		f := fams[name]
		if f == nil {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suffix); ok && fams[base] != nil {
					f = fams[base]
				}
			}
		}
		if f == nil {
			t.Fatalf("scrape: sample %q of no family", line)
		}
		for _, l := range labelRE.FindAllStringSubmatch(m[2], -1) {
			if l[1] == "le" && f.typ == "histogram" {
				continue
			}
			if f.labels[l[1]] == nil {
				f.labels[l[1]] = map[string]bool{}
			}
			f.labels[l[1]][l[2]] = true
		}
	}
	return fams
}

// TestREADMEMetricsTableIsTheMetrics holds the README's table of metrics
// to a real scrape of doorstepd: every metric it lists is served under
// that name, with that type and those labels (and where it lists a
// label's words, exactly those), and every metric served is listed, but
// the Go runtime's (go_*) and the process's (process_*), which the
// README names as such.
func TestREADMEMetricsTableIsTheMetrics(t *testing.T) {
	addr, scrape := startScraped(t)
	// A call, so that the per-call metrics have a sample to show.
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	body := scrape()
	scraped := parseScrape(t, body)

	table := readmeMetricsTable(t)
	for name, r := range table {
		f := scraped[name]
		if f == nil {
			t.Errorf("README lists %s, which a scrape lacks", name)
			continue
		}
		if r.typ != f.typ {
			t.Errorf("README: %s is a %s; the scrape has a %s", name, r.typ, f.typ)
		}
		for l, words := range r.labels {
			seen, ok := f.labels[l]
			if !ok {
				t.Errorf("README: %s has label %s, which the scrape's lacks", name, l)
				continue
			}
			if words == nil {
				continue
			}
			var got []string
			for v := range seen {
				got = append(got, v)
			}
			sort.Strings(got)
			want := append([]string(nil), words...)
			sort.Strings(want)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("README: %s{%s} takes %v; the scrape has %v", name, l, want, got)
			}
		}
		for l := range f.labels {
			if _, ok := r.labels[l]; !ok {
				t.Errorf("the scrape's %s has label %s, which the README does not list", name, l)
			}
		}
	}
	for name := range scraped {
		if _, ok := table[name]; !ok && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("a scrape has %s, which the README's table of metrics lacks", name)
		}
	}
}

// TestMetricsHelpNamesEveryREADMELabelWord holds each metric's HELP text,
// which is what an operator reads in a dashboard or at /metrics, to the
// README's words for its labels: a HELP that names some of a label's
// values names them all, so that none reads as something it never
// counts. (A HELP that names none, such as "by urgency", is left be.)
func TestMetricsHelpNamesEveryREADMELabelWord(t *testing.T) {
	_, scrape := startScraped(t)
	body := scrape()
	help := map[string]string{}
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, text, _ := strings.Cut(rest, " ")
			help[name] = text
		}
	}
	for name, r := range readmeMetricsTable(t) {
		text, ok := help[name]
		if !ok {
			continue // the scrape lacking it is TestREADMEMetricsTableIsTheMetrics' to say
		}
		for label, words := range r.labels {
			var named, unnamed []string
			for _, w := range words {
				if regexp.MustCompile(`\b` + regexp.QuoteMeta(w) + `\b`).MatchString(text) {
					named = append(named, w)
				} else {
					unnamed = append(unnamed, w)
				}
			}
			if len(named) > 0 && len(unnamed) > 0 {
				t.Errorf("%s's HELP names %s %v but not %v, which README lists: %q", name, label, named, unnamed, text)
			}
		}
	}
}

// startScraped starts doorstepd with metrics on (and args), stopped when
// the test ends, and returns its gRPC address and a function reading GET
// /metrics.
func startScraped(t *testing.T, args ...string) (addr string, scrape func() string) {
	t.Helper()
	addr, logs, stop := startLogged(t, append([]string{"--metrics-listen", "127.0.0.1:0"}, args...)...)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	m := metricsAddrRE.FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no serving metrics line with its address:\n%s", logs.String())
	}
	return addr, func() string {
		t.Helper()
		resp, err := http.Get("http://" + m[1] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		http.DefaultClient.CloseIdleConnections()
		return string(body)
	}
}
