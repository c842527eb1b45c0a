package main

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

const auditWhenExamples = `try "yesterday 14:00", "fri 9am", "20 nov 14:30", "2026-11-20 14:30", "3 hours ago" or "today"`

var (
	weekdayRE  = regexp.MustCompile(`^(sun|mon|tue|wed|thu|fri|sat)[a-z]*$`)
	lastPrefix = regexp.MustCompile(`^last `)
)

// parseAuditTime reads --since or --until of admin audit, in UK time as
// the helpline's --when is read (parsePoint), but looking back: the log
// holds what has been done, so "fri" is the Friday gone (or today) and
// "20 nov" the one gone, where for booking help they are the coming
// ones. A day alone is its start for --since and its end for --until, so
// that "--since 20 nov --until 20 nov" is that whole day.
func parseAuditTime(flag, s string, now time.Time, end bool) (time.Time, error) {
	now = now.In(london)
	s = strings.Join(strings.Fields(strings.ToLower(s)), " ")
	said := s
	bad := func() (time.Time, error) {
		return time.Time{}, fmt.Errorf("%s: cannot read %q as a day or time: %s", flag, said, auditWhenExamples)
	}
	switch {
	case s == "":
		return bad()
	case s == "now":
		return now, nil
	case strings.HasSuffix(s, " ago"):
		d, err := parseSpan(strings.TrimSuffix(s, " ago"))
		if err != nil {
			return bad()
		}
		return now.Add(-d), nil
	}
	// "yesterday" is a day only looking back, so parseDay has no word for
	// it: it is read as its date.
	if rest, ok := strings.CutPrefix(s, "yesterday"); ok && (rest == "" || rest[0] == ' ') {
		s = midnight(now).AddDate(0, 0, -1).Format("2006-01-02") + rest
	}
	s = lastPrefix.ReplaceAllString(s, "") // "last fri" is how it is read anyway
	if t, err := time.Parse(time.RFC3339, strings.ToUpper(s)); err == nil {
		return t, nil // its offset says which coming of an hour is meant
	}
	p, err := parsePoint(s, now, now)
	if _, far := farLeapDay(err); err != nil && !far {
		return bad()
	}
	// A 29 February given without its year, the next years off, is
	// refused for booking (farLeapDay); looking back, it is read as the
	// one gone, below, as any date given without its year.
	// Looking back, a time in the hour the clocks repeat in autumn is
	// judged by its first coming: at 01:10 GMT, "sun 01:30" is the 01:30
	// BST gone, where parsePoint, booking ahead, reads the 01:30 GMT to
	// come, and it was taken as last week's Sunday, or, alone, as a time
	// still to come.
	if first, _ := comings(p.at()); first.After(now) {
		day := s
		if f := strings.Fields(s); p.hasTime && p.exact.IsZero() {
			day = strings.Join(f[:len(f)-1], " ")
		}
		day = strings.TrimSuffix(day, ",")
		switch {
		case day == "" && p.hasTime && p.exact.IsZero():
			// A time alone still to come today is yesterday's, as "fri"
			// on a Friday morning is last week's: read as today's, the
			// range began in the future and listed nothing, as if nothing
			// had been done since.
			p.day = p.day.AddDate(0, 0, -1)
		case weekdayRE.MatchString(day):
			p.day = p.day.AddDate(0, 0, -7)
		case yearless(day) && !p.day.Equal(midnight(now)):
			// Today's date is today, its hours to come too: read as last
			// year's, "27 nov 14:00" said at 10:00 on the 27th would list
			// a year, where "today 14:00" is refused as still to come.
			p.day = lastComing(p.day)
		}
	}
	if !p.hasTime && end {
		return p.day.AddDate(0, 0, 1), nil
	}
	// Of the two comings, --since is from the first and --until up to the
	// second, so that the range holds every moment the clock showed a time
	// within it: a record of 01:40 BST is not left out of "since 01:30".
	first, second := comings(p.at())
	if end {
		return second, nil
	}
	return first, nil
}

// comings is t and, when t's UK time of day is in the hour the clocks
// repeat in autumn, its other coming, the earlier first.
func comings(t time.Time) (first, second time.Time) {
	const wall = "2006-01-02 15:04:05.999999999"
	w := t.In(london).Format(wall)
	first, second = t, t
	if e := t.Add(-time.Hour); e.In(london).Format(wall) == w {
		first = e
	}
	if l := t.Add(time.Hour); l.In(london).Format(wall) == w {
		second = l
	}
	return first, second
}
