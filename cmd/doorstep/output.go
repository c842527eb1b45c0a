package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// inertWriter is what the command writes through, to stdout and stderr:
// it passes text on with what a terminal would act on, or a reader would
// misread, shown as \uXXXX instead. Names, streets, details, token and
// organisation names come from partners' imports and volunteers' own apps
// and are printed to staff during a call; a record stored before the
// server refused such text, or text the server lets through, must not
// clear the screen, hide a link, overwrite a line with a carriage return,
// or turn the phone number printed after a name backwards. The command
// itself writes none of these, so one writer covers every output; the
// escape is JSON's own, so --json stays valid JSON. A byte that is not
// UTF-8 becomes U+FFFD; a character cut between two writes is held for
// the next.
type inertWriter struct {
	w    io.Writer
	held []byte
}

func (iw *inertWriter) Write(p []byte) (int, error) {
	buf := append(iw.held, p...)
	out := make([]byte, 0, len(buf)+16)
	i := 0
	for i < len(buf) {
		r, n := utf8.DecodeRune(buf[i:])
		switch {
		case r == utf8.RuneError && n <= 1 && !utf8.FullRune(buf[i:]):
			// The start of a character the next write ends.
			iw.held = append([]byte(nil), buf[i:]...)
			_, err := iw.w.Write(out)
			return len(p), err
		case r == utf8.RuneError && n <= 1:
			out = append(out, "\uFFFD"...)
		case actedOn(r):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, buf[i:i+n]...)
		}
		i += n
	}
	iw.held = nil
	_, err := iw.w.Write(out)
	return len(p), err
}

// flush writes a character left cut off at the end of the output.
func (iw *inertWriter) flush() {
	if len(iw.held) > 0 {
		iw.held = nil
		_, _ = io.WriteString(iw.w, "\uFFFD")
	}
}

// actedOn says whether a terminal would act on r, or a reader be misled
// by it, were it printed: control characters other than newline and tab
// (escape sequences, carriage return, backspace, NUL, C1 controls), the
// bidirectional embeddings, overrides and isolates (which reorder what
// follows them on the line), invisible zero-width characters, and line
// and paragraph separators.
func actedOn(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r >= 0x7f && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200b, r >= 0x2060 && r <= 0x2064, r == 0xfeff, r == 0x180e:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// table lays rows out in columns two spaces apart, each column as wide as
// its widest cell over the run of rows that have a cell after it (as
// text/tabwriter does). A cell is as wide as a terminal shows it
// (termWidth), not its count of characters, which text/tabwriter goes by:
// a name in Chinese, whose characters take two columns each, pushed the
// rest of its row to the right, and an accent typed as a letter and a
// combining mark ("Zoe" and U+0308, as macOS and some forms send it)
// pulled it left, so that staff read one caller's postcode or status
// under the wrong heading.
type table struct {
	w    io.Writer
	rows [][]string
	// linear (--linear) says each value after its label, one to a line,
	// instead of in columns. A screen reader reads a line at a time and
	// gives no heading for a cell; a braille display or a magnifier of
	// 40 columns shows part of a row and none of its headings.
	linear bool
	// noun names the records of a table whose first row is its headings
	// ("Request": "Request 1 of 2"); "" for a table of labels and values,
	// whose first cell in each row is its label.
	noun string
}

func newTable(w io.Writer) *table { return &table{w: w} }

// newList is a table of records under a row of headings, laid out as
// --linear says: each record is a noun ("Request") and its number.
func (a *app) newList(w io.Writer, noun string) *table {
	return &table{w: w, linear: a.cfg.linear, noun: noun}
}

// newFields is a table of labels and values, one to a row, laid out as
// --linear says.
func (a *app) newFields(w io.Writer) *table {
	return &table{w: w, linear: a.cfg.linear}
}

func (t *table) row(cells ...string) {
	r := make([]string, len(cells))
	for i, c := range cells {
		r[i] = cellBreaks.Replace(c)
	}
	t.rows = append(t.rows, r)
}

// cellBreaks are what would break the columns in a cell (notes, names): a
// tab or newline, and a vertical tab and form feed, which text/tabwriter,
// which laid tables out before, took as the end of a column and of a
// line: the rest of a name read as a row of its own ("Phone: ..."). The
// two are shown as the inert writer shows other controls.
var cellBreaks = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ", "\v", `\u000b`, "\f", `\u000c`)

func (t *table) flush() error {
	if t.linear {
		return t.flushLinear()
	}
	// pad[i][j] is the width cell j of row i is padded to; a row's last
	// cell is not padded.
	pad := make([][]int, len(t.rows))
	for i, r := range t.rows {
		pad[i] = make([]int, max(len(r)-1, 0))
	}
	for j, more := 0, true; more; j++ {
		more = false
		for i := 0; i < len(t.rows); {
			if len(t.rows[i]) <= j+1 {
				i++
				continue
			}
			more = true
			end, w := i, 0
			for ; end < len(t.rows) && len(t.rows[end]) > j+1; end++ {
				w = max(w, termWidth(t.rows[end][j]))
			}
			for k := i; k < end; k++ {
				pad[k][j] = w
			}
			i = end
		}
	}
	var b strings.Builder
	for i, r := range t.rows {
		for j, c := range r {
			b.WriteString(c)
			if j < len(r)-1 {
				b.WriteString(strings.Repeat(" ", pad[i][j]-termWidth(c)+2))
			}
		}
		b.WriteByte('\n')
	}
	t.rows = nil
	_, err := io.WriteString(t.w, b.String())
	return err
}

// flushLinear writes each value after its label, "State: open", one to a
// line: a record of a list after a line naming it ("Request 1 of 2") and
// a blank line between records. A dash, which a table shows for "none"
// to keep its columns, is said in words.
func (t *table) flushLinear() error {
	var b strings.Builder
	line := func(label, value string) {
		if strings.TrimSpace(value) == "" || value == "-" {
			value = "none"
		}
		b.WriteString(label + ": " + value + "\n")
	}
	if t.noun == "" {
		for _, r := range t.rows {
			if len(r) == 0 {
				continue
			}
			line(strings.TrimSpace(r[0]), strings.Join(r[1:], " "))
		}
	} else if len(t.rows) > 0 {
		head, recs := t.rows[0], t.rows[1:]
		for i, r := range recs {
			if i > 0 {
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "%s %d of %d\n", t.noun, i+1, len(recs))
			for j, c := range r {
				// "#", a rank, is the record's number already.
				if j < len(head) && head[j] != "#" {
					line(headingWords(head[j]), c)
				}
			}
		}
	}
	t.rows = nil
	_, err := io.WriteString(t.w, b.String())
	return err
}

// headingWords is a table's heading as a label is written: "ANSWER BY"
// as "Answer by", with the abbreviations kept in capitals.
func headingWords(h string) string {
	words := strings.Fields(strings.ToLower(h))
	for i, w := range words {
		if w == "id" || w == "dbs" {
			words[i] = strings.ToUpper(w)
		}
	}
	s := strings.Join(words, " ")
	if s == "" {
		return h
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// termWidth is how many columns a terminal gives s once the inert writer
// has passed it: two for a wide or full-width character (Chinese,
// Japanese, Korean), none for a combining mark or other invisible
// formatting kept (a direction mark, a zero-width joiner), and six for
// what the inert writer shows as \uXXXX. A soft hyphen is formatting
// too, but terminals show it as a hyphen (wcwidth gives it one column);
// the vowels and final consonants of a Korean syllable typed decomposed
// are drawn into the square of its first consonant, as wcwidth says.
func termWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case actedOn(r):
			n += len(`\u0000`)
		case r == '\u00ad':
			n++
		case r >= 0x1160 && r <= 0x11ff, r >= 0xd7b0 && r <= 0xd7ff:
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		default:
			switch width.LookupRune(r).Kind() {
			case width.EastAsianWide, width.EastAsianFullwidth:
				n += 2
			default:
				n++
			}
		}
	}
	return n
}

var jsonOpts = protojson.MarshalOptions{UseProtoNames: true}

// writeJSON prints one message as indented JSON. protojson varies its
// spacing on purpose; re-indenting makes the output byte-stable for scripts.
func writeJSON(w io.Writer, m proto.Message) error {
	raw, err := jsonOpts.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	return writeIndented(w, raw)
}

// writeJSONList prints messages as one JSON array ([] when empty).
func writeJSONList[M proto.Message](w io.Writer, ms []M) error {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, m := range ms {
		if i > 0 {
			buf.WriteByte(',')
		}
		raw, err := jsonOpts.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode json: %w", err)
		}
		buf.Write(raw)
	}
	buf.WriteByte(']')
	return writeIndented(w, buf.Bytes())
}

// printList is how the list commands answer: a JSON array under --json,
// which says "none" by being empty; else the sentence none when there are
// none, since a table of headings alone reads as a fault; else a table.
func printList[M proto.Message](a *app, items []M, none, noun string, header []string, row func(M) []string) error {
	if a.cfg.json {
		return writeJSONList(a.stdout, items)
	}
	if len(items) == 0 {
		fmt.Fprintln(a.stdout, none)
		return nil
	}
	t := a.newList(a.stdout, noun)
	t.row(header...)
	for _, m := range items {
		t.row(row(m)...)
	}
	return t.flush()
}

// printLimited is printList for a list cut off at --limit: when more
// matched, it says so, after the table, or on stderr under --json so that
// the JSON stays whole.
func printLimited[M proto.Message](a *app, items []M, more bool, none, noun string, header []string, row func(M) []string) error {
	if err := printList(a, items, none, noun, header, row); err != nil {
		return err
	}
	if !a.cfg.json && slices.ContainsFunc(items, func(m M) bool { return hasUnknown(m.ProtoReflect()) }) {
		// A column of a newer server's (a volunteer's hold) is missing,
		// and a row reads as complete without it.
		fmt.Fprintf(a.stdout, "Not shown: %s.\n", notShown)
	}
	if more {
		w := a.stdout
		if a.cfg.json {
			w = a.stderr
		}
		fmt.Fprintf(w, "Showing %d; more match: give a larger --limit or narrow the search.\n", len(items))
	}
	return nil
}

func writeIndented(w io.Writer, raw []byte) error {
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return fmt.Errorf("indent json: %w", err)
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}

// london is where the helplines are: times are read and shown in UK time.
var london = mustLoad("Europe/London")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is linked in, so this cannot happen
	}
	return loc
}

// fmtTime shows a time the way a person reads it: "Wed 11 Mar 10:00",
// with the year only when it is not this year.
func fmtTime(t time.Time, now time.Time) string {
	t = t.In(london)
	if t.Year() != now.In(london).Year() {
		return t.Format("Mon 2 Jan 2006 15:04") + twiceWords(t)
	}
	return t.Format("Mon 2 Jan 15:04") + twiceWords(t)
}

// fmtTimeSeconds is fmtTime to the second, for the event stream:
// "Thu 26 Nov 14:42:20".
func fmtTimeSeconds(t time.Time, now time.Time) string {
	t = t.In(london)
	if t.Year() != now.In(london).Year() {
		return t.Format("Mon 2 Jan 2006 15:04:05") + twiceWords(t)
	}
	return t.Format("Mon 2 Jan 15:04:05") + twiceWords(t)
}

// clockWords is a time of day in UK time, "10:00", saying which of the
// two it is in the hour that comes twice (twiceWords).
func clockWords(t time.Time) string {
	t = t.In(london)
	return t.Format("15:04") + twiceWords(t)
}

// twiceWords is " BST" or " GMT" for a UK time in the hour that comes twice
// when the clocks go back (01:00-02:00 on the last Sunday of October),
// and "" for any other: "answer by 01:20", read at 01:50 BST, would
// seem past when it is half an hour off, in GMT.
func twiceWords(t time.Time) string {
	wall := t.Format("2006-01-02 15:04")
	for _, d := range []time.Duration{-time.Hour, time.Hour} {
		if t.Add(d).In(london).Format("2006-01-02 15:04") == wall {
			name, _ := t.Zone()
			return " " + name
		}
	}
	return ""
}

func fmtTS(ts *timestamppb.Timestamp, now time.Time) string {
	if ts == nil {
		return "-"
	}
	return fmtTime(ts.AsTime(), now)
}

// fmtTiming shows a request's window or deadline.
func fmtTiming(hr *pb.HelpRequest, now time.Time) string {
	switch t := hr.GetTiming().(type) {
	case *pb.HelpRequest_Window:
		s, e := t.Window.GetStartTime().AsTime().In(london), t.Window.GetEndTime().AsTime().In(london)
		if s.YearDay() == e.YearDay() && s.Year() == e.Year() {
			return fmtTime(s, now) + "-" + clockWords(e)
		}
		return fmtTime(s, now) + " to " + fmtTime(e, now)
	case *pb.HelpRequest_Deadline:
		return "by " + fmtTS(t.Deadline, now)
	}
	return "-"
}

func lowerWords(enum, prefix string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(enum, prefix)), "_", " ")
}

// enumWords is an enum value in words: "grocery shopping" for
// NEED_GROCERY_SHOPPING. A value this build does not know (sent by a newer
// server) is "unknown (9)": its number alone would read as a count, and
// no known word may stand in for it.
func enumWords(e protoreflect.Enum, prefix string) string {
	if e.Descriptor().Values().ByNumber(e.Number()) == nil {
		return fmt.Sprintf("unknown (%d)", e.Number())
	}
	return lowerWords(string(e.Descriptor().Values().ByNumber(e.Number()).Name()), prefix)
}

// notShown is the row that says a record holds fields this build does not
// know (a newer server's): without it a hold, say, is missing from the
// view without a sign.
const notShown = "what a newer server holds that this doorstep cannot show: upgrade doorstep to see it"

// hasUnknown reports whether m, or any message in it, holds fields this
// build does not know.
func hasUnknown(m protoreflect.Message) bool {
	found := len(m.GetUnknown()) > 0
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, e protoreflect.Value) bool {
					found = found || hasUnknown(e.Message())
					return !found
				})
			}
		case fd.Message() == nil:
		case fd.IsList():
			for l, i := v.List(), 0; i < l.Len() && !found; i++ {
				found = hasUnknown(l.Get(i).Message())
			}
		default:
			found = found || hasUnknown(v.Message())
		}
		return !found
	})
	return found
}

func stateWord(s pb.HelpRequest_State) string { return enumWords(s, "STATE_") }

func offerStateWord(s pb.Offer_State) string { return enumWords(s, "STATE_") }

func urgencyWord(u pb.Urgency) string {
	if u == pb.Urgency_URGENCY_UNSPECIFIED {
		return "normal"
	}
	return enumWords(u, "URGENCY_")
}

func needsWords(ns []pb.Need) string {
	var out []string
	for _, n := range ns {
		out = append(out, enumWords(n, "NEED_"))
	}
	return strings.Join(out, ", ")
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// offerAway is "300 m away", or "distance unknown" when the server could
// not say (one of the offer's records is gone).
func offerAway(o *pb.Offer) string {
	if o.DistanceMetres == nil {
		return "distance unknown"
	}
	return fmtDistance(float64(*o.DistanceMetres)) + " away"
}

func fmtDistance(m float64) string {
	switch {
	case m < 5:
		return "under 10 m" // as the candidates' sentences say it
	case m < 995: // from 995 m it rounds to a kilometre
		return fmt.Sprintf("%.0f m", math.Round(m/10)*10)
	}
	return fmt.Sprintf("%.1f km", m/1000)
}

// idOf drops the collection from a resource name for narrow tables.
func idOf(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// resourceName accepts an id in the forms people paste: "01J...",
// "helpRequests/01j...", with stray spaces or upper case.
func resourceName(arg, collection, what string) (string, error) {
	s := strings.TrimSpace(arg)
	if c, id, ok := strings.Cut(s, "/"); ok {
		if !strings.EqualFold(c, collection) {
			return "", usageErrorf("%q is not a %s: give its id or %s/ID", arg, what, collection)
		}
		s = id
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != 26 || strings.Trim(s, "0123456789abcdefghjkmnpqrstvwxyz") != "" {
		return "", usageErrorf("%q is not a %s id: ids are 26 letters and digits, as printed by doorstep", arg, what)
	}
	return collection + "/" + s, nil
}

// wantArgs checks the positional arguments of a command taking exactly n.
func wantArgs(pos []string, n int, synopsis string) error {
	if len(pos) < n {
		return usageErrorf("missing argument: usage is %s", synopsis)
	}
	if len(pos) > n {
		return usageErrorf("unexpected %q: usage is %s", pos[n], synopsis)
	}
	return nil
}
