package geo

import (
	"strings"
	"testing"
)

// TestReadONSPDNullIsland: a directory built from another source than the
// ONS's (which marks a postcode with no grid reference by latitude
// 99.999999) may mark it 0, 0 instead. Such a postcode was loaded at 0, 0,
// off Africa, and every request and volunteer given it took that centre,
// matched with each other as neighbours whatever their real places; it is
// skipped as having no coordinates, as the ONS mark is.
func TestReadONSPDNullIsland(t *testing.T) {
	in := "pcds,lat,long,doterm\nZE1 0AA,0,0,\nTR21 0HE,0.000000,0.000000,\nJE2 4WD,99.999999,0.000000,\nSE10 9NN,51.4779,0.0000,\n"
	var got []PostcodeEntry
	st, err := ReadONSPD(strings.NewReader(in), func(e PostcodeEntry) error { got = append(got, e); return nil })
	if err != nil || st.NoCoordinates != 3 || st.Live != 1 || len(got) != 1 || got[0].Postcode != "SE10 9NN" {
		t.Errorf("got %+v, %+v, %v; want SE10 9NN alone, 3 without coordinates", got, st, err)
	}
}
