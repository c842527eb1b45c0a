package geo

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// PostcodeEntry is one row of a postcode directory.
type PostcodeEntry struct {
	Postcode   string // normalised
	Lat, Lng   float64
	Terminated bool // no longer in use; callers remove it rather than store it
}

// ONSPDStats counts what a directory file held.
type ONSPDStats struct {
	Rows          int // data rows read
	Live          int // handed on as live postcodes with coordinates
	Terminated    int // handed on with Terminated set
	NoCoordinates int // live but without a grid reference; skipped
	Malformed     int // unreadable postcode or coordinates; skipped
}

// The ONS marks a postcode with no grid reference by this latitude (and
// other sources by 0, 0).
const onspdNoLatitude = 99.999999

// ReadONSPD reads a CSV file in the ONS Postcode Directory layout and calls
// fn for every row with a usable postcode: live ones with their centre, and
// terminated ones (doterm set) so that a reload can drop them. The header
// must name the columns pcds, lat and long; doterm is optional. Bad rows
// are counted and skipped so that one typo does not stop a national load;
// a quote left open, which would take the rows after it with it, stops the
// read with its line, as does an error from fn, which is returned.
func ReadONSPD(r io.Reader, fn func(PostcodeEntry) error) (ONSPDStats, error) {
	var st ONSPDStats
	// A byte order mark goes before the CSV reader sees it: before a quoted
	// first field it would read as a bare quote, and refuse the header.
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); string(bom) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return st, fmt.Errorf("onspd: read header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"pcds", "lat", "long"} {
		if _, ok := col[need]; !ok {
			return st, fmt.Errorf("onspd: header has no %q column", need)
		}
	}
	iPC, iLat, iLng := col["pcds"], col["lat"], col["long"]
	iTerm, hasTerm := col["doterm"]
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return st, nil
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) && perr.Line > perr.StartLine {
			return st, unclosedQuote(perr.StartLine, perr.Line)
		}
		if errors.As(err, &perr) {
			st.Rows++
			st.Malformed++
			continue
		}
		if err != nil {
			return st, fmt.Errorf("onspd: read row %d: %w", st.Rows+2, err)
		}
		// The directory has no field of several lines: one that spans them
		// began with a quote not closed on its own line, and holds the rows
		// up to the next quote, which would be lost unseen.
		first, _ := cr.FieldPos(0) // a record has at least one field
		if last, _ := cr.FieldPos(len(rec) - 1); last > first || strings.ContainsAny(rec[len(rec)-1], "\r\n") {
			return st, unclosedQuote(first, last+strings.Count(rec[len(rec)-1], "\n"))
		}
		st.Rows++
		field := func(i int) string {
			if i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		pc, err := NormalisePostcode(field(iPC))
		if err != nil {
			st.Malformed++
			continue
		}
		if hasTerm && field(iTerm) != "" {
			st.Terminated++
			if err := fn(PostcodeEntry{Postcode: pc, Terminated: true}); err != nil {
				return st, err
			}
			continue
		}
		lat, errLat := strconv.ParseFloat(field(iLat), 64)
		lng, errLng := strconv.ParseFloat(field(iLng), 64)
		if errLat != nil || errLng != nil {
			st.Malformed++
			continue
		}
		// Other sources mark the missing grid reference 0, 0: loaded, it
		// would put everyone at such a postcode off Africa, together.
		if lat == onspdNoLatitude || !IsPlace(lat, lng) {
			st.NoCoordinates++
			continue
		}
		st.Live++
		if err := fn(PostcodeEntry{Postcode: pc, Lat: lat, Lng: lng}); err != nil {
			return st, err
		}
	}
}

// unclosedQuote stops a read at a quote that takes the lines after it
// into one field: skipped as one bad row, it would lose all of them.
func unclosedQuote(from, to int) error {
	return fmt.Errorf("onspd: line %d: a quote opened on this line is not closed on it, so lines %d to %d read as one field: check the file there", from, from, to)
}
