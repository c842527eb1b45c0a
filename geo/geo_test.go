package geo

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
)

func TestNormalisePostcode(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"AB10 1AB", "AB10 1AB", true},
		{"ab101ab", "AB10 1AB", true},
		{"  ab10   1ab ", "AB10 1AB", true},
		{"M1 1AE", "M1 1AE", true},
		{"b338th", "B33 8TH", true},
		{"CR2 6XH", "CR2 6XH", true},
		{"DN55 1PT", "DN55 1PT", true},
		{"W1A 0AX", "W1A 0AX", true},
		{"EC1A 1BB", "EC1A 1BB", true},
		{"GIR 0AA", "GIR 0AA", true},
		{"", "", false},
		{"AB10", "", false},
		{"AB10 1CB", "", false},  // C never in the inward code
		{"QA10 1AB", "", false},  // Q never first
		{"AB10 1AB2", "", false}, // too long
		{"1AB 1AB", "", false},
		{"AB10-1AB", "", false},
	}
	for _, tt := range tests {
		got, err := NormalisePostcode(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("NormalisePostcode(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadPostcode) {
			t.Errorf("NormalisePostcode(%q) error %v is not ErrBadPostcode", tt.in, err)
		}
	}
}

func TestNormalisePostcodePrefix(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"ab10 1ab", "AB10 1AB", true},
		{"AB10 1", "AB10 1", true},
		{"ab101", "AB10 1", true},
		{"AB10", "AB10 ", true},
		{"ab1", "AB1 ", true},
		{"EC1A", "EC1A ", true},
		{"AB1 01", "", false},
		{"", "", false},
		{"12", "", false},
	}
	for _, tt := range tests {
		got, err := NormalisePostcodePrefix(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("NormalisePostcodePrefix(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestNormaliseStreet(t *testing.T) {
	tests := []struct{ in, want string }{
		{"union st", "Union Street"},
		{"UNION ST.", "Union Street"},
		{"  Union   Street ", "Union Street"},
		{"St Machar Drive", "St Machar Drive"},
		{"st machar dr", "St Machar Drive"},
		{"McDonald Rd", "McDonald Road"},
		{"great western rd", "Great Western Road"},
		{"o'neill-smith ave", "O'Neill-Smith Avenue"},
		{"St", "St"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormaliseStreet(tt.in); got != tt.want {
			t.Errorf("NormaliseStreet(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if StreetKey("Union St.") != StreetKey("UNION STREET") {
		t.Errorf("StreetKey differs for the same street: %q vs %q", StreetKey("Union St."), StreetKey("UNION STREET"))
	}
	if StreetKey("Union Street") == StreetKey("Union Terrace") {
		t.Error("StreetKey equal for different streets")
	}
}

func TestDistanceMetres(t *testing.T) {
	// Aberdeen Marischal College to Aberdeen railway station, about 800 m,
	// and London to Edinburgh, about 534 km.
	tests := []struct {
		lat1, lng1, lat2, lng2, want, tol float64
	}{
		{57.1497, -2.0943, 57.1437, -2.0981, 700, 50},
		{51.5074, -0.1278, 55.9533, -3.1883, 534000, 3000},
		{57.1, -2.1, 57.1, -2.1, 0, 0.001},
	}
	for _, tt := range tests {
		got := DistanceMetres(tt.lat1, tt.lng1, tt.lat2, tt.lng2)
		if math.Abs(got-tt.want) > tt.tol {
			t.Errorf("DistanceMetres(%v,%v,%v,%v) = %.0f, want %.0f±%.0f", tt.lat1, tt.lng1, tt.lat2, tt.lng2, got, tt.want, tt.tol)
		}
	}
	for _, bad := range [][2]float64{{91, 0}, {0, 181}, {math.NaN(), 0}, {-90.1, 0}} {
		if ValidLatLng(bad[0], bad[1]) {
			t.Errorf("ValidLatLng(%v) = true", bad)
		}
	}
}

func TestReadONSPDSample(t *testing.T) {
	f, err := os.Open("../testdata/onspd_aberdeen_sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	live := map[string][2]float64{}
	terminated := 0
	st, err := ReadONSPD(f, func(e PostcodeEntry) error {
		if e.Terminated {
			terminated++
			return nil
		}
		live[e.Postcode] = [2]float64{e.Lat, e.Lng}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 8048 {
		t.Errorf("rows = %d, want 8048", st.Rows)
	}
	if st.Live+st.NoCoordinates+st.Malformed != 4237 || st.Terminated != 8048-4237 || terminated != st.Terminated {
		t.Errorf("stats = %+v (terminated seen %d)", st, terminated)
	}
	if st.Live != len(live) || st.Live < 4000 {
		t.Errorf("live = %d, distinct %d", st.Live, len(live))
	}
	got, ok := live["AB10 1AB"]
	if !ok || math.Abs(got[0]-57.149) > 0.01 || math.Abs(got[1]+2.097) > 0.01 {
		t.Errorf("AB10 1AB = %v, %v", got, ok)
	}
	if _, ok := live["JE2 4WD"]; ok {
		t.Error("JE2 4WD has no grid reference and must be skipped")
	}
}

func TestReadONSPDBadInput(t *testing.T) {
	if _, err := ReadONSPD(strings.NewReader("postcode,lat\nAB10 1AB,57\n"), func(PostcodeEntry) error { return nil }); err == nil {
		t.Error("missing columns accepted")
	}
	in := "pcds,lat,long,doterm\nnot a postcode,57,-2,\nAB10 1AB,x,-2,\nAB10 1AF,57.1,-2.1,\n"
	var got []PostcodeEntry
	st, err := ReadONSPD(strings.NewReader(in), func(e PostcodeEntry) error { got = append(got, e); return nil })
	if err != nil || st.Malformed != 2 || len(got) != 1 || got[0].Postcode != "AB10 1AF" {
		t.Errorf("got %+v, %+v, %v", got, st, err)
	}
	stop := errors.New("stop")
	if _, err := ReadONSPD(strings.NewReader(in), func(PostcodeEntry) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("callback error not returned: %v", err)
	}
}

func TestPostcodeSector(t *testing.T) {
	for in, want := range map[string]string{"AB10 1AB": "AB10 1", "M1 1AE": "M1 1", "GIR 0AA": "GIR 0", "": "", "AB10": "", "AB10 ": ""} {
		if got := PostcodeSector(in); got != want {
			t.Errorf("PostcodeSector(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzStreetKeyFastPath: the one-pass key of an ASCII name is the key by
// definition (normalise, lower, keep letters and digits), for any input.
func FuzzStreetKeyFastPath(f *testing.F) {
	for _, s := range []string{"", " ", "Union St.", "UNION STREET", "union st", "St Machar Drive", "st", " st ", "Great  Western\tRd", "Rd.", "a rd..", "King's Cres", "12b High St", "ST. ANDREW ST.", "x\vy\fz\r", "Café Rd", "Straße", "ſt Rd", "Ave", "foo AVE"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := StreetKey(s), streetKeyOf(s); got != want {
			t.Errorf("StreetKey(%q) = %q, want %q", s, got, want)
		}
	})
}

// TestReadONSPDUnclosedQuote: a quote opened in one field and not closed
// on its line makes the CSV reader take every line up to the next quote
// (or the end of the file) as part of that field. That is not one bad row
// to skip: thousands of postcodes would be lost while the load reported
// one malformed row. The read stops instead, naming the line.
func TestReadONSPDUnclosedQuote(t *testing.T) {
	var rows strings.Builder
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&rows, "AB10 1A%c,57.1,-2.1,\r\n", 'D'+i%3)
	}
	for _, tc := range []struct{ name, in string }{
		{"closed by a later quote", "pcds,lat,long,doterm\r\nAB10 1AA,57.1,-2.1,\r\n\"AB10 1AB,57.1,-2.1,\r\n" + rows.String() + "AB10 1AF\",57.1,-2.1,\r\nAB10 1AG,57.1,-2.1,\r\n"},
		{"never closed", "pcds,lat,long,doterm\r\nAB10 1AA,57.1,-2.1,\r\nAB10 1AB,57.1,-2.1,\"\r\n" + rows.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := ReadONSPD(strings.NewReader(tc.in), func(PostcodeEntry) error { return nil })
			if err == nil || !strings.Contains(err.Error(), "line 3") {
				t.Errorf("read %+v, %v; want an error naming line 3, where the quote opens", st, err)
			}
		})
	}
	// Quoted fields on one line are read, and a stray quote within one
	// line is that row's fault alone: it is skipped.
	var got []string
	st, err := ReadONSPD(strings.NewReader("pcds,lat,long,doterm\r\n\"AB10 1AA\",\"57.1\",\"-2.1\",\"\"\r\nAB10 1AB,57\"1,-2.1,\r\nAB10 1AF,57.1,-2.1,\r\n"),
		func(e PostcodeEntry) error { got = append(got, e.Postcode); return nil })
	if err != nil || st.Malformed != 1 || len(got) != 2 || got[0] != "AB10 1AA" || got[1] != "AB10 1AF" {
		t.Errorf("read %v, %+v, %v; want AB10 1AA and AB10 1AF, one row malformed", got, st, err)
	}
}

// TestReadONSPDByteOrderMarkBeforeQuotedHeader: a file saved with a byte
// order mark and every field quoted (as spreadsheet and GIS exports and
// Python's utf-8-sig write it) was refused at its header: the mark before
// the first quote made the CSV reader see a bare quote in the field.
func TestReadONSPDByteOrderMarkBeforeQuotedHeader(t *testing.T) {
	in := "\ufeff\"pcds\",\"lat\",\"long\",\"doterm\"\r\n\"AB10 1AA\",\"57.1\",\"-2.1\",\"\"\r\n"
	var got []PostcodeEntry
	st, err := ReadONSPD(strings.NewReader(in), func(e PostcodeEntry) error { got = append(got, e); return nil })
	if err != nil || len(got) != 1 || got[0].Postcode != "AB10 1AA" {
		t.Errorf("read %v, %+v, %v; want AB10 1AA", got, st, err)
	}
}
