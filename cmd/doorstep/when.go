package main

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// timing is when help must happen: a window, or a deadline alone.
type timing struct {
	start, end time.Time // a window when start is set
	deadline   time.Time
}

// maxAhead is the server's limit on how far ahead help may be booked.
const maxAhead = 90 * 24 * time.Hour

const whenExamples = `try "tomorrow 10:00-12:00", "today by 18:00", "fri 2pm-4pm", "in 3 hours" or "2026-03-12 10:00"`

// parseWhen reads when help is needed, as a helpline worker types it, in UK
// time: "tomorrow 10:00-12:00", "today by 18:00", "by 6pm", "in 3 hours",
// "thu", "12/03 9-11", "2026-03-12T10:00 to 2026-03-12T12:00". A single
// moment is a deadline; a day on its own is that whole day.
func parseWhen(s string, now time.Time) (timing, error) {
	t, err := readWhen(s, now)
	if err != nil {
		return t, err
	}
	return t, t.check(now)
}

// readWhen is parseWhen without the check that the time lies ahead, for
// imports: a file run again later must still match its stored rows.
func readWhen(s string, now time.Time) (_ timing, err error) {
	now = now.In(london)
	s = strings.Join(strings.Fields(strings.ToLower(s)), " ")
	if s == "" {
		return timing{}, errors.New("say when: " + whenExamples)
	}
	// "until 17:30", said of help needed urgently, is from now. Errors
	// quote what was typed, not the words it was read as.
	said := s
	for _, w := range []string{"until ", "till ", "til "} {
		if rest, ok := strings.CutPrefix(s, w); ok {
			s = "now to " + rest
			defer func() {
				if err != nil {
					err = errors.New(strings.Replace(err.Error(), strconv.Quote(s), strconv.Quote(said), 1))
				}
			}()
			break
		}
	}
	var t timing
	switch {
	case strings.HasPrefix(s, "in ") || strings.HasPrefix(s, "within "):
		_, rest, _ := strings.Cut(s, " ")
		d, err := parseSpan(rest)
		if err != nil {
			return t, err
		}
		t.deadline = now.Add(d)
	case strings.HasPrefix(s, "by ") || strings.HasPrefix(s, "before "):
		_, rest, _ := strings.Cut(s, " ")
		p, err := parsePoint(rest, now, now)
		if err != nil {
			return t, err
		}
		if !strings.Contains(rest, " ") {
			p.minutes = tonight(rest, p.minutes) // "by 12am", as "by midnight"
		}
		t.deadline = p.at()
	case strings.Contains(s, " by "):
		day, at, _ := strings.Cut(s, " by ")
		p, err := parsePoint(day+" "+at, now, now)
		if err != nil {
			return t, err
		}
		t.deadline = p.at()
	default:
		if a, b, ok := splitRange(s, now); ok {
			pa, errA := parseStart(a, now)
			pb, errB := parsePoint(b, now, pa.day)
			if errB != nil {
				return t, errB // a 29 February years off (rangeParts)
			}
			if pa.exact.IsZero() && pb.exact.IsZero() && pa.day.Equal(pb.day) {
				pa.minutes, pb.minutes = readRange(lastField(a), lastField(b), pa.minutes, pb.minutes)
			}
			if fromNow(a) && pb.exact.IsZero() && pa.day.Equal(pb.day) {
				// "until 7" at 16:10 is 19:00, "until 1:30" at 00:30 is
				// 01:30: the next time the clock reads so, which the
				// afternoon rule for 1 to 6 would put twelve hours on.
				pb.minutes = tonight(lastField(b), nextOnClock(lastField(b), pb.minutes, pa.exact))
				if end := pb.at(); !end.After(pa.at()) {
					return t, fmt.Errorf("%s has already passed", fmtTime(end, now))
				}
			}
			begun := begunLastYear(a, pa, pb)
			if errA != nil && begun.day.Equal(pa.day) {
				return t, errA // a 29 February years off, not begun
			}
			pa = begun
			// A range on one day that ends before it starts is refused,
			// a slip more often than a night ("17:00-09:00"); but someone
			// sitting with a caller over midnight is told how to say it.
			if pa.exact.IsZero() && pb.exact.IsZero() && pa.day.Equal(pb.day) && pb.at().Before(pa.at()) {
				if twelveAM(lastField(b)) && pa.minutes < pb.minutes+12*60 {
					// "9-12am" is a morning as forms write it, and so is
					// "11:30-12:30am": the night's example below would book
					// fifteen hours, not three, or thirteen, not one. An
					// evening's ("11pm-12:30am") is the night it says.
					return t, fmt.Errorf("%q ends before it starts: 12am is midnight; for noon, give 12pm, as in %q",
						s, strings.TrimSuffix(s, lastField(b))+strings.TrimSuffix(lastField(b), "am")+"pm")
				}
				words := func(day time.Time, minutes int) string {
					return strings.ToLower(day.Format("2 Jan")) + fmt.Sprintf(" %02d:%02d", minutes/60, minutes%60)
				}
				// Past midnight a bare hour is the morning: "11pm-1" is a
				// sit till 01:00, where alone "1" is the afternoon's, and
				// words saying 13:00 would book twelve hours more.
				end := pb.minutes
				if bareHour(lastField(b)) {
					end %= 12 * 60
				}
				return t, fmt.Errorf("%q ends before it starts: for help past midnight, give the day it ends too, as in %q",
					s, words(pa.day, pa.minutes)+" to "+words(pb.day.AddDate(0, 0, 1), end))
			}
			return windowOf(pa, pb, strconv.Quote(s))
		}
		p, err := parsePoint(s, now, now)
		if err != nil {
			return t, err
		}
		if p.hasTime {
			t.deadline = p.at()
		} else {
			t.start, t.end = p.day, p.day.AddDate(0, 0, 1)
			if t.start.Before(now) {
				t.start = now.Truncate(time.Minute)
			}
		}
	}
	return t, nil
}

// begunLastYear is pa, the start of a window said as a (a date and a
// time), or the same a year before (a 29 February, the one before:
// lastComing). A date without a year is its next coming; as the start of
// a window that ends before it, it is the last one, as for days away: at 00:30 on New Year's Day "31 dec 23:00 - 1 jan
// 01:00" is the night now running, not next December's. Not when that
// makes a window longer than any the server takes: a slip.
func begunLastYear(a string, pa, pb point) point {
	f := strings.Fields(a)
	if len(f) < 2 || !pa.exact.IsZero() || !yearless(strings.Join(f[:len(f)-1], " ")) || !pb.at().Before(pa.at()) {
		return pa
	}
	last := pa
	last.day = lastComing(pa.day)
	if start := last.at(); !start.After(pb.at()) && pb.at().Sub(start) <= maxAhead {
		return last
	}
	return pa
}

// windowOf is the window from a to b, said as said: refused when it is
// wholly in the hour the clocks skip (both ends read as the moment they
// passed it) or ends before it starts.
func windowOf(a, b point, said string) (timing, error) {
	t := timing{start: a.at(), end: b.at()}
	if t.end.Equal(t.start) && (a.skipped() || b.skipped()) {
		return timing{}, fmt.Errorf("%s is in the hour the clocks skip on %s", said, skipWords(t.start))
	}
	if !t.end.After(t.start) {
		return timing{}, fmt.Errorf("%s ends before it starts", said)
	}
	return t, nil
}

// check applies the server's rules early, so that the prompt can re-ask.
func (t timing) check(now time.Time) error {
	last := t.deadline
	if !t.start.IsZero() {
		last = t.end
		if t.end.Sub(t.start) > maxAhead {
			return errors.New("a window can be at most 90 days long")
		}
	}
	switch {
	case !last.After(now):
		return fmt.Errorf("%s has already passed", fmtTime(last, now))
	case t.start.IsZero() && last.Sub(now) > maxAhead, !t.start.IsZero() && t.start.Sub(now) > maxAhead:
		// With its year always: a date without one that has just passed
		// ("31/12" on the 2nd of January) is read as next year's, and
		// only the year says why it is refused.
		first := t.deadline
		if !t.start.IsZero() {
			first = t.start
		}
		return fmt.Errorf("%s is more than 90 days away", first.In(london).Format("Mon 2 Jan 2006 15:04"))
	}
	return nil
}

// show says when in words, for the summary read back to the caller.
func (t timing) show(now time.Time) string {
	if t.start.IsZero() {
		return "by " + fmtTime(t.deadline, now)
	}
	if s, e := t.start.In(london), t.end.In(london); s.YearDay() == e.YearDay() && s.Year() == e.Year() {
		return fmtTime(s, now) + "-" + clockWords(e)
	}
	return fmtTime(t.start, now) + " to " + fmtTime(t.end, now)
}

// point is a day with perhaps a time of day.
type point struct {
	day     time.Time // midnight, UK time
	hasTime bool
	minutes int // from midnight; 1440 is the end of the day
	exact   time.Time
	skip    bool      // exact is in the hour the clocks skip (ukTime)
	now     time.Time // when it was said, for the hour that comes twice (inComingOf)
}

func (p point) at() time.Time {
	if !p.exact.IsZero() {
		return p.exact
	}
	if !p.hasTime {
		return p.day
	}
	d := p.day
	t, _ := ukTime(d.Year(), d.Month(), d.Day(), p.minutes)
	return inComingOf(t, p.now)
}

// skipped reports whether p's time of day never came on its day: it is in
// the hour the clocks skip when they go forward.
func (p point) skipped() bool {
	if !p.hasTime || !p.exact.IsZero() {
		return p.skip
	}
	_, skip := ukTime(p.day.Year(), p.day.Month(), p.day.Day(), p.minutes)
	return skip
}

// ukTime is minutes past midnight on a UK date. A time in the hour the
// clocks skip in spring (01:30 on the last Sunday of March) never comes:
// it is the moment the clocks passed it, 02:00 BST. time.Date would put it
// an hour on, at 02:30, so that "01:30-02:30" read as empty and "by 1:30am"
// ran to 02:30; skip says it was so.
func ukTime(y int, m time.Month, d, minutes int) (t time.Time, skip bool) {
	t = time.Date(y, m, d, 0, minutes, 0, 0, london)
	want := time.Date(y, m, d, 0, minutes, 0, 0, time.UTC)
	wall := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC)
	switch {
	case wall.After(want):
		start, _ := t.ZoneBounds()
		return start, true
	case wall.Before(want):
		_, end := t.ZoneBounds()
		return end, true
	}
	// In the hour that comes twice in autumn, time.Date gives the second
	// (GMT); people mean the first, as the evening runs on: "by 1:30am"
	// said at 00:50 BST is in 40 minutes, and "00:30-01:30" is an hour.
	// Said once the clocks have gone back, inComingOf makes it the second.
	if first := t.Add(-time.Hour); first.In(london).Format("2006-01-02 15:04") == t.Format("2006-01-02 15:04") {
		return first, false
	}
	return t, false
}

// inComingOf reads t, a time ukTime put in the first coming of the hour
// the clocks repeat in autumn, in the coming now is in: once the clocks
// have gone back (01:10 GMT), "by 1:30am" is in 20 minutes and
// "01:00-01:45" the hour now running, where the first coming had passed
// and the CLI refused them. Before, it is the first, as ukTime says.
func inComingOf(t, now time.Time) time.Time {
	const wall = "2006-01-02 15:04"
	second := t.Add(time.Hour)
	if now.IsZero() || second.In(london).Format(wall) != t.In(london).Format(wall) {
		return t
	}
	if _, change := t.In(london).ZoneBounds(); !now.Before(change) {
		return second
	}
	return t
}

// skipWords says when the clocks went forward, for change, the moment
// they did: "Sun 29 Mar: at 01:00 they go forward to 02:00".
func skipWords(change time.Time) string {
	_, before := change.Add(-time.Nanosecond).Zone()
	after := change.In(london)
	return after.Format("Mon 2 Jan") + ": at " + change.UTC().Add(time.Duration(before)*time.Second).Format("15:04") +
		" they go forward to " + after.Format("15:04")
}

var isoLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04"}

// parseStart reads the start of a range: "now" (or "from now") is this
// minute, as in "now until 17:30" for help needed urgently, where alone it
// is the rest of today; anything else as parsePoint does.
func parseStart(s string, now time.Time) (point, error) {
	if fromNow(s) {
		t := now.Truncate(time.Minute)
		return point{day: midnight(t), hasTime: true, exact: t}, nil
	}
	return parsePoint(s, now, now)
}

// fromNow reports whether a range's start is "now" (parseStart).
func fromNow(s string) bool {
	s = strings.TrimSpace(s)
	return s == "now" || s == "from now" || s == "right now"
}

// tonight is minutes, read from clock, as the end of something said
// without a day: 12am is then the coming midnight, as "midnight" is
// ("until 12am", "by 12am"), not the one this morning began with, which
// has always passed.
func tonight(clock string, minutes int) int {
	if minutes == 0 && strings.HasSuffix(clock, "am") {
		return 24 * 60
	}
	return minutes
}

// nextOnClock is end (minutes from midnight, as parseClock read clock)
// moved to the first time after now that clock names, when clock says
// neither am nor pm nor a 24-hour time ("7", "1:30", "12"): said of help
// needed from now, it is the next such time, not the one the afternoon
// rule picks, and past midnight when none is left that day ("until 7" at
// 22:00 is the morning; above 24*60, it is on the next day). Otherwise end
// as read.
func nextOnClock(clock string, end int, now time.Time) int {
	if !bareHour(clock) || hasMeridiem(clock) {
		return end
	}
	at := now.Hour()*60 + now.Minute()
	for m := end % (12 * 60); m < 36*60; m += 12 * 60 {
		if m > at {
			return m
		}
	}
	return end
}

// parsePoint reads "tomorrow 10:00", "10am", "thu", "2026-03-12 10:00" or
// an RFC 3339 time. A time alone is on defDay.
func parsePoint(s string, now, defDay time.Time) (point, error) {
	s = strings.TrimSpace(s)
	for i, l := range isoLayouts {
		t, err := time.Parse(l, strings.ToUpper(s))
		if err != nil {
			continue
		}
		skip := false
		if i > 0 { // a UK wall-clock time, as ukTime reads one
			var at time.Time
			at, skip = ukTime(t.Year(), t.Month(), t.Day(), t.Hour()*60+t.Minute())
			if !skip {
				at = inComingOf(at, now).Add(time.Duration(t.Second()) * time.Second)
			}
			t = at
		}
		return point{day: midnight(t), hasTime: true, exact: t, skip: skip}, nil
	}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return point{}, errors.New("say when: " + whenExamples)
	}
	if m, ok := parseClock(fields[len(fields)-1]); ok {
		p := point{day: midnight(defDay), hasTime: true, minutes: m, now: now}
		if len(fields) > 1 {
			d, err := parseDay(strings.Join(fields[:len(fields)-1], " "), now)
			if far, ok := farLeapDay(err); ok {
				p.day = far
				return p, bookable(err)
			}
			if err != nil {
				return point{}, err
			}
			p.day = d
		}
		return p, nil
	}
	d, err := parseDay(s, now)
	if far, ok := farLeapDay(err); ok {
		return point{day: far}, bookable(err)
	}
	if err != nil {
		return point{}, err
	}
	return point{day: d}, nil
}

// farLeapDay is, when err refuses a 29 February given without a year as
// years off, that one; parsePoint returns a point on it beside err. As
// the start of a window that ends before it, the one gone is meant
// (begunLastYear), as a night begun on the leap day is still running on
// 1 March; anywhere else it is refused.
func farLeapDay(err error) (time.Time, bool) {
	var bad *badDate
	if errors.As(err, &bad) && !bad.next.IsZero() {
		return bad.next, true
	}
	return time.Time{}, false
}

func midnight(t time.Time) time.Time {
	t = t.In(london)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, london)
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "tues": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "thur": time.Thursday, "thurs": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

var months = map[string]time.Month{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}

var (
	slashDate = regexp.MustCompile(`^(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2}|\d{4}))?$`)
	wordDate  = regexp.MustCompile(`^(\d{1,2})(?:st|nd|rd|th)? ([a-z]+)(?: (\d{4}))?$`)
)

// parseDay reads "today", "tomorrow", a weekday (the next one, today
// included), "next fri", "2026-03-12", "12/03", "12/3/2026" or "12 march".
func parseDay(s string, now time.Time) (time.Time, error) {
	today := midnight(now)
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ","))
	switch s {
	case "today", "tonight", "now", "asap":
		return today, nil
	case "tomorrow", "tmrw", "tomorow", "tommorow", "tomorrow's":
		return today.AddDate(0, 0, 1), nil
	}
	next := false
	if rest, ok := strings.CutPrefix(s, "next "); ok {
		s, next = rest, true
	}
	if len(s) >= 3 {
		if wd, ok := weekdays[s[:3]]; ok && (strings.HasSuffix(s, "day") || len(s) <= 5) {
			ahead := (int(wd) - int(today.Weekday()) + 7) % 7
			if next && ahead == 0 {
				ahead = 7
			}
			return today.AddDate(0, 0, ahead), nil
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", s, london); err == nil {
		return t, nil
	}
	if m := slashDate.FindStringSubmatch(s); m != nil {
		day, _ := strconv.Atoi(m[1])
		mon, _ := strconv.Atoi(m[2])
		return dateOf(day, time.Month(mon), m[3], today, s)
	}
	if m := wordDate.FindStringSubmatch(s); m != nil && len(m[2]) >= 3 {
		if mon, ok := months[m[2][:3]]; ok {
			day, _ := strconv.Atoi(m[1])
			return dateOf(day, mon, m[3], today, s)
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a day or time: %s", s, whenExamples)
}

// dateOf builds a UK date; without a year it is the next such date.
func dateOf(day int, mon time.Month, year string, today time.Time, orig string) (time.Time, error) {
	y := today.Year()
	if year != "" {
		y, _ = strconv.Atoi(year)
		if y < 100 {
			y += 2000
		}
	}
	if year == "" && mon == time.February && day == 29 {
		return leapDay(y, today, orig)
	}
	t := time.Date(y, mon, day, 0, 0, 0, 0, london)
	if t.Day() != day || t.Month() != mon {
		return time.Time{}, &badDate{msg: fmt.Sprintf("%q is not a date (day/month)", orig)}
	}
	if year == "" && t.Before(today) {
		t = t.AddDate(1, 0, 0)
	}
	return t, nil
}

// badDate is a day written as a date that is none (31/11, a 29 February
// years off): said as it is, where a reader trying other forms would
// otherwise answer only that it cannot read it.
type badDate struct {
	msg string
	// next is, for a 29 February refused as years off, that one: as the
	// start of a range that has begun, the one gone is meant (awayRange).
	next time.Time
	// hint says what to give instead, where that would be read: the year
	// of a 29 February for dates away, never for a time help is needed,
	// which cannot be booked so far ahead (bookable).
	hint string
}

func (e *badDate) Error() string { return e.msg + e.hint }

// bookable is err, a 29 February years off refused as a day, as a time
// help is needed: beyond what may be booked, with no year to give.
func bookable(err error) error {
	var bad *badDate
	if !errors.As(err, &bad) || bad.next.IsZero() {
		return err
	}
	return &badDate{msg: bad.msg + ", more than 90 days away", next: bad.next}
}

// leapDay is a 29 February given without a year: its next coming, as
// other dates are, if that is within a year. A year on, the date that
// has passed would be 1 March (time.Date rolls it over), and a year
// without one refused it as no date at all, though 29 February may be
// next month; one four years off is not what staff meant.
func leapDay(y int, today time.Time, orig string) (time.Time, error) {
	for ; ; y++ {
		t := time.Date(y, time.February, 29, 0, 0, 0, 0, london)
		if t.Month() != time.February || t.Before(today) {
			continue
		}
		if t.After(today.AddDate(1, 0, 0)) {
			return time.Time{}, &badDate{msg: fmt.Sprintf("%q: the next 29 February is in %d", orig, y), hint: fmt.Sprintf("; give the year if that is meant (%d-02-29)", y), next: t}
		}
		return t, nil
	}
}

var clockRE = regexp.MustCompile(`^(\d{1,2})(?:[:.](\d{2}))?(am|pm)?$`)

// parseClock reads "10", "10:30", "10.30", "1030", "2pm", "4" (16:00),
// "4:30" (16:30), "noon", "midnight" (the end of the day) as minutes since
// midnight.
func parseClock(s string) (int, bool) {
	switch s {
	case "noon", "midday":
		return 12 * 60, true
	case "midnight":
		return 24 * 60, true
	}
	if len(s) == 4 && strings.Trim(s, "0123456789") == "" {
		s = s[:2] + ":" + s[2:]
	}
	m := clockRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	h, _ := strconv.Atoi(m[1])
	mins := 0
	if m[2] != "" {
		mins, _ = strconv.Atoi(m[2])
	}
	switch m[3] {
	case "am":
		if h == 12 {
			h = 0
		}
	case "pm":
		if h < 12 {
			h += 12
		}
	case "":
		// "2-4", "by 4", "2:30-4", "free 6-9": an hour from 1 to 6 is
		// the afternoon or evening as people say it; nobody is visited
		// at 2 in the morning unless the time says so (2am, 02:00).
		if afternoonHour(s) {
			h += 12
		}
	}
	if h > 24 || mins > 59 || (h == 24 && mins != 0) || (m[3] != "" && (h > 24 || m[1] == "0")) {
		return 0, false
	}
	return h*60 + mins, true
}

// readRange reads a range of clock times as people say them: "2-4pm" is
// 14:00 to 16:00, not 02:00 to 16:00 (a start without am or pm before an
// end with pm is in the afternoon, when that still comes before the end),
// "11pm-12am" ends at the day's end (not "9-12am"), and "9-5" is 09:00 to 17:00 (of two bare hours, an end that would come
// before the start is in the afternoon; "17:00-09:00" stays a mistake).
//
// An hour from 1 to 6 that parseClock read as the afternoon is the morning
// again where the other end says so: "6-9am", "6-5" and "6-20" (a 24-hour
// clock) start at 06:00, and "0-6" or "5am-6" end at 06:00.
func readRange(from, to string, start, end int) (int, int) {
	switch {
	case end == 0 && start >= 12*60 && strings.HasSuffix(to, "am"):
		// "11pm-12am": as an end, 12am is the midnight the evening runs
		// to, the end of the day, as "midnight" is. Only from the
		// afternoon on: "9-12am" is a morning written as forms write it,
		// and read to midnight it would be fifteen hours, not three.
		end = 24 * 60
	case !hasMeridiem(from) && strings.HasSuffix(to, "pm") && start < 12*60 && start+12*60 < end:
		start += 12 * 60
	case bareHour(from) && bareHour(to) && end < start && end+12*60 > start && end+12*60 <= 24*60:
		end += 12 * 60
	case afternoonHour(from) && (end <= start || writtenHour(to) > 12) && start-12*60 < end:
		start -= 12 * 60
	case afternoonHour(to) && !afternoonHour(from) && start < end-12*60:
		end -= 12 * 60
	}
	return start, end
}

// afternoonHour is a time parseClock reads as the afternoon though it says
// neither am nor pm: an hour from 1 to 6, with or without minutes, and no
// leading zero ("4", "4:30"; not "04:30").
func afternoonHour(clock string) bool {
	if len(clock) == 4 && strings.Trim(clock, "0123456789") == "" {
		return false // "0430", "1030": a 24-hour clock
	}
	m := clockRE.FindStringSubmatch(clock)
	if m == nil || m[3] != "" || m[1][0] == '0' {
		return false
	}
	h, _ := strconv.Atoi(m[1])
	return h >= 1 && h <= 6
}

// writtenHour is the hour as written ("20" of "20:00"), without am or pm,
// or -1.
func writtenHour(clock string) int {
	if len(clock) == 4 && strings.Trim(clock, "0123456789") == "" {
		clock = clock[:2]
	}
	m := clockRE.FindStringSubmatch(clock)
	if m == nil || m[3] != "" {
		return -1
	}
	h, _ := strconv.Atoi(m[1])
	return h
}

// twelveAM is a clock in the hour after midnight said on a 12-hour clock
// ("12am", "12:30am"), which forms also write for the hour after noon.
func twelveAM(clock string) bool {
	m := clockRE.FindStringSubmatch(clock)
	return m != nil && m[1] == "12" && m[3] == "am"
}

// bareHour is a time said as people say it on a 12-hour clock: an hour
// from 1 to 12, perhaps with minutes ("4", "6:30"), without am or pm or a
// leading zero. "6:30-9" is then read as "6-9" is, not as the morning.
func bareHour(clock string) bool {
	h := writtenHour(clock)
	return h >= 1 && h <= 12 && clock[0] != '0' && !(len(clock) == 4 && strings.Trim(clock, "0123456789") == "")
}

func hasMeridiem(clock string) bool {
	return strings.HasSuffix(clock, "am") || strings.HasSuffix(clock, "pm")
}

func lastField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// splitRange finds where a range splits into its start and end, trying
// each separator, and each "-" in turn so that ISO dates keep theirs.
func splitRange(s string, now time.Time) (string, string, bool) {
	for _, sep := range []string{" to ", " until ", " till ", "–", " - ", "/"} {
		if a, b, ok := strings.Cut(s, sep); ok {
			if rangeParts(a, b, now) {
				return a, b, true
			}
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '-' && rangeParts(s[:i], s[i+1:], now) {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

func rangeParts(a, b string, now time.Time) bool {
	pa, err := parseStart(a, now)
	if _, far := farLeapDay(err); err != nil && !far || !pa.hasTime {
		return false
	}
	// An end on a 29 February years off ends a range too, to be refused
	// as such: read as one day, "until 29 feb 10:00" was refused in words
	// never typed ("now to 29 feb"), and without saying why.
	pb, err := parsePoint(b, now, pa.day)
	if _, far := farLeapDay(err); err != nil && !far {
		return false
	}
	return pb.hasTime
}

var spanRE = regexp.MustCompile(`^(\d+(?:\.\d+)?) ?(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?)$`)

// parseSpan reads "3 hours", "90m", "2 days", "1.5h".
func parseSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	// "in the next hour", "within the hour": as a caller in need says it.
	s = strings.TrimPrefix(strings.TrimPrefix(s, "the "), "next ")
	switch s {
	case "hour", "an hour", "day", "a day", "week", "a week":
		s = "1 " + strings.TrimPrefix(strings.TrimPrefix(s, "an "), "a ")
	case "half an hour", "half hour", "half-hour", "half-an-hour":
		s = "30 minutes"
	}
	m := spanRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("cannot read %q as a length of time: try \"in 3 hours\" or \"in 2 days\"", s)
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	unit := time.Minute
	switch m[2][0] {
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	case 'w':
		unit = 7 * 24 * time.Hour
	}
	return time.Duration(n * float64(unit)).Truncate(time.Minute), nil
}
