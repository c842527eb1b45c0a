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
	p, err := parsePoint(s, now, now)
	if err != nil {
		return bad()
	}
	if p.at().After(now) {
		day := s
		if f := strings.Fields(s); p.hasTime && p.exact.IsZero() {
			day = strings.Join(f[:len(f)-1], " ")
		}
		day = strings.TrimSuffix(day, ",")
		switch {
		case weekdayRE.MatchString(day):
			p.day = p.day.AddDate(0, 0, -7)
		case yearless(day):
			p.day = lastComing(p.day)
		}
	}
	if !p.hasTime && end {
		return p.day.AddDate(0, 0, 1), nil
	}
	return p.at(), nil
}
