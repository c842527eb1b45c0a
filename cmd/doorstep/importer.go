package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/client"
	"github.com/doorstep-aid/doorstep/geo"
	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// csvColumns are the columns an import CSV may have, in the order the
// help lists them. Required: external_id, postcode, needs, name, phone,
// and a time (when, or window_start and window_end, or deadline).
var csvColumns = []struct{ name, help string }{
	{"external_id", "your own id for the row; unique in the organisation (required)"},
	{"postcode", "UK postcode (required)"},
	{"street", "street name"},
	{"address", "house number, flat, building; lines separated by ; or |"},
	{"lat", "latitude, when the postcode is not known"},
	{"lng", "longitude"},
	{"needs", "one or more of " + needNames() + ", separated by ; , or spaces (required)"},
	{"when", `"tomorrow 10:00-12:00", "today by 18:00"... as for request new`},
	{"window_start", "start of the window: 2026-03-12T10:00 (UK time) or RFC 3339"},
	{"window_end", "end of the window"},
	{"deadline", "help by this time, instead of a window"},
	{"urgency", "low, normal, high or critical"},
	{"details", "what exactly is needed (required with other)"},
	{"skills", "skill tags the volunteer must have, e.g. driver;welsh"},
	{"name", "the person's name (required)"},
	{"phone", "the person's phone number (required)"},
	{"remote_ok", "yes/no: help can be given from anywhere (a call or other; not with needs given in person)"},
	{"enters_home", "yes/no: the volunteer must go inside"},
	{"lives_alone", "yes/no"},
	{"shielding", "yes/no"},
	{"no_internet", "yes/no"},
	{"reduced_mobility", "yes/no"},
	{"organisation", "must be --org when given"},
}

// columnOf maps a field path in a row's error to the CSV column that sets it.
var columnOf = func() map[string]string {
	m := map[string]string{
		"location.postcode": "postcode", "location.street": "street", "location.address_lines": "address", "location.lat_lng": "lat, lng",
		"needs": "needs", "details": "details", "required_skills": "skills", "urgency": "urgency", "window.start_time": "window_start",
		"window.end_time": "window_end", "window": "when", "deadline": "deadline", "requester.display_name": "name", "requester.phone": "phone",
		"external_id": "external_id", "organisation": "organisation",
	}
	for k, v := range m {
		m[k] = "column " + v
	}
	return m
}()

// importRow is one row read from the file, with where it came from.
type importRow struct {
	line int
	hr   *pb.HelpRequest
	err  string // why it could not be read; then hr is nil
	ext  string // the external_id of a row that could not be read, if it has one
	// columns are the CSV header's columns (nil for JSONL), and
	// timingColumns those of them that set the row's time: a stored
	// request's differing fields are named by them, and one that no
	// column of the file sets is not the file's to differ in.
	columns       map[string]bool
	timingColumns []string
	// timingAt reads the row's time columns as of now (nil for JSONL,
	// whose times are absolute): "tomorrow 10:00-12:00" or "until 17:30"
	// read on the day, or minute, the row was stored may be its stored
	// time, though read today it is not.
	timingAt func(now time.Time) (timing, error)
}

func (a *app) importFile(args []string) error {
	var cols strings.Builder
	t := a.newFields(&cols)
	for _, c := range csvColumns {
		t.row("  "+c.name, c.help)
	}
	_ = t.flush()
	u := usage{
		synopsis: "doorstep import FILE.csv|FILE.jsonl --org ORG",
		text: `Stores many requests at once, for partners importing their own records. Every row needs an external_id:
a row whose external_id the organisation has used already is reported as already there and not stored
again, so running the same file twice creates nothing new (a line whose values differ from the stored
request's is named, with the columns: they are not applied); a row repeating an earlier line's external_id
is refused. Bad rows are reported by their line in the file and do not stop the others; the exit code is
1 when any row failed. FILE "-" reads standard input. Rows go 500 to a call, each waited for up to 5
minutes unless --timeout says otherwise: a server on a slow disk takes half a minute for one.

A .jsonl file holds one HelpRequest per line in protobuf JSON. A .csv file, in UTF-8 or in Windows-1252
as Excel saves "CSV", has a header row naming its columns, in any order:
` + strings.TrimRight(cols.String(), "\n"),
		examples: []string{
			"doorstep import partners/foodbank-2026-03-10.csv --org aberdeen-foodbank",
			"doorstep import rows.jsonl --org aberdeen-foodbank --json",
			"doorstep import rows.csv --org aberdeen-foodbank --check",
		},
	}
	cmd := a.begin("import", u)
	org := cmd.fs.String("org", a.cfg.org, "the organisation the rows belong to (env DOORSTEP_ORG)")
	format := cmd.fs.String("format", "", "csv or jsonl (by default from the file's extension)")
	check := cmd.fs.Bool("check", false, "only read and check the file; send nothing")
	pos, err := cmd.exactly(args, 1)
	if err != nil {
		return err
	}
	orgName := strings.ToLower(strings.TrimSpace(*org))
	if !orgPattern(orgName) {
		return usageErrorf("give the organisation with --org (or DOORSTEP_ORG): 2 to 63 lower-case letters, digits and hyphens")
	}
	path := pos[0]
	kind := strings.ToLower(*format)
	if kind == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".csv":
			kind = "csv"
		case ".jsonl", ".ndjson", ".json":
			kind = "jsonl"
		default:
			return usageErrorf("cannot tell the format of %s: name it .csv or .jsonl, or give --format", path)
		}
	}
	var in io.Reader = a.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return usageErrorf("cannot open %s: %v", path, errors.Unwrap(err))
		}
		defer f.Close()
		in = f
	}
	var rows []importRow
	switch kind {
	case "csv":
		rows, err = a.readCSV(in, orgName)
	case "jsonl":
		rows, err = readJSONL(in, orgName)
	default:
		return usageErrorf("--format must be csv or jsonl")
	}
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return usageErrorf("%s has no rows", path)
	}
	refuseRepeats(rows)
	var send []*pb.HelpRequest
	var sendLines []int
	for _, r := range rows {
		if r.hr != nil {
			send = append(send, r.hr)
			sendLines = append(sendLines, r.line)
		}
	}
	results := map[int]*pb.BatchCreateHelpRequestsResult{}
	unconfirmed := map[int]bool{}
	var importErr error
	if !*check && len(send) > 0 {
		if !a.cfg.timeoutSet {
			a.cfg.timeout = max(a.cfg.timeout, importTimeout)
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		got, err := c.ImportHelpRequests(a.ctx, send)
		for _, r := range got {
			if r != nil {
				results[sendLines[r.Index]] = r
			}
		}
		importErr = err
		if batchMayBeStored(err) && !neverSent(err) {
			// The answers cover the rows before the batch that failed;
			// that batch, at most MaxImportBatch rows, was with the server
			// when it stopped (a SIGTERM, a timeout, a dropped connection)
			// and may have been stored. Reported as not sent, a script
			// would send it by some other way, twice.
			for i := len(got); i < min(len(got)+client.MaxImportBatch, len(send)); i++ {
				unconfirmed[sendLines[i]] = true
			}
		}
	}
	return a.reportImport(rows, results, unconfirmed, *check, kind == "csv", importErr)
}

// importTimeout is how long doorstep import waits for each batch's answer
// unless --timeout says otherwise. A batch of 500 rows takes some 32
// commits of the data file (rows are written 32 at a time, and share
// each commit's fsync): 7 s where a commit takes 0.2 s, 32 s where it
// takes a second (an SD card, a network disk past its burst quota), past
// the 30 s other commands wait, and the import stopped at its first batch
// at every run.
var importTimeout = 5 * time.Minute

// batchMayBeStored says whether the batch whose call failed with err may
// have been stored all the same: its call was cut off, or failed in the
// server or in its answer. A refusal (a wrong token, a role that may not
// import, the call rate, a full disk, whose batch is answered) comes
// before the server stores anything: those rows were not sent.
func batchMayBeStored(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Unknown, codes.Internal, codes.DataLoss:
		return true
	}
	return false
}

// rowCount is "1 row" or "n rows".
func rowCount(n int) string { return plural(n, "1 row", fmt.Sprintf("%d rows", n)) }

// neverSent reports whether err is gRPC failing a call before it had a
// connection to send it on: the server down or at a wrong address, or a
// TLS handshake refused. Nothing of that batch can be stored, and a run
// against a server that was down told the operator otherwise.
func neverSent(err error) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable || len(st.Details()) > 0 {
		return false
	}
	msg := strings.ToLower(st.Message())
	// grpc-go's transport words for the two ways a connection is never
	// made; a call that was sent and then lost its connection says
	// something else (EOF, "transport is closing").
	return strings.Contains(msg, "transport: error while dialing") || strings.Contains(msg, "transport: authentication handshake failed")
}

// refuseRepeats fails every row whose external_id an earlier row has,
// naming that row's line; every row sent is --org's, so the external_id
// alone decides. The client and server refuse such a row as well, but only
// once it is sent and by its place among the rows sent; this way --check
// finds it, and the report names lines. A first row that could not be read
// still claims its external_id, so that fixing it later cannot turn a row
// stored from further down into a row "already there" with other details.
func refuseRepeats(rows []importRow) {
	firstLine := map[string]int{}
	for i := range rows {
		r := &rows[i]
		ext := strings.TrimSpace(r.ext)
		if r.hr != nil {
			ext = strings.TrimSpace(r.hr.ExternalId)
		}
		if ext == "" {
			continue
		}
		if l, ok := firstLine[ext]; ok {
			if r.hr != nil {
				r.err = fmt.Sprintf("external_id %q is on line %d already: only the first row with an external_id counts; fix that line if need be, and remove this one.", ext, l)
				r.hr, r.ext = nil, ext
			}
			continue
		}
		firstLine[ext] = r.line
	}
}

// importOutcome is one row of the --json report.
type importOutcome struct {
	Line       int    `json:"line"`
	ExternalID string `json:"external_id,omitempty"`
	// Outcome is created, existing, failed, checked, unconfirmed (being
	// sent when the import stopped: it may be stored) or not_sent.
	Outcome     string `json:"outcome"`
	HelpRequest string `json:"help_request,omitempty"`
	Error       string `json:"error,omitempty"`
	// SameTimeRequests are the person's other live requests at an
	// overlapping time (BatchCreateHelpRequestsResult.same_time_requests).
	SameTimeRequests []string `json:"same_time_requests,omitempty"`
	// Differing are the columns (a CSV's, each one the file has) or
	// fields (a JSONL's) of a row found stored already whose values
	// differ from the stored request's
	// (BatchCreateHelpRequestsResult.differing_fields): not applied.
	Differing []string `json:"differing,omitempty"`
	// stored is the request a row found stored already is, to say whether
	// it can still be changed.
	stored *pb.HelpRequest
}

func (a *app) reportImport(rows []importRow, results map[int]*pb.BatchCreateHelpRequestsResult, unconfirmed map[int]bool, checkOnly, fromCSV bool, importErr error) error {
	var out []importOutcome
	counts := map[string]int{}
	for _, r := range rows {
		// A row failed before it was sent keeps its external_id too: a
		// partner's script mends its own records by it, not by our line.
		o := importOutcome{Line: r.line, ExternalID: cmp.Or(r.hr.GetExternalId(), strings.TrimSpace(r.ext))}
		res := results[r.line]
		switch {
		case r.hr == nil:
			o.Outcome, o.Error = "failed", r.err
		case checkOnly:
			o.Outcome = "checked"
		case res == nil && unconfirmed[r.line]:
			o.Outcome = "unconfirmed"
		case res == nil:
			o.Outcome = "not_sent"
		case res.Error != nil:
			o.Outcome, o.Error = "failed", rowSentence(res.Error, fromCSV)
		case res.Existing:
			o.Outcome, o.HelpRequest, o.SameTimeRequests = "existing", res.HelpRequest.GetName(), res.SameTimeRequests
			fields := res.DifferingFields
			if readOtherwiseThen(r, res.HelpRequest) {
				fields = slices.DeleteFunc(slices.Clone(fields), func(f string) bool { return f == "window" || f == "deadline" })
			}
			o.Differing, o.stored = differingColumns(fields, r, res.HelpRequest), res.HelpRequest
			if len(o.Differing) > 0 {
				counts["differing"]++
			}
		default:
			o.Outcome, o.HelpRequest, o.SameTimeRequests = "created", res.HelpRequest.GetName(), res.SameTimeRequests
		}
		counts[o.Outcome]++
		out = append(out, o)
	}
	if a.cfg.json {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("encode json: %w", err)
		}
	} else {
		for _, o := range out {
			if o.Outcome == "failed" {
				fmt.Fprintf(a.stdout, "line %d: %s\n", o.Line, o.Error)
			}
			if len(o.Differing) > 0 {
				in := "field"
				if fromCSV {
					in = "column"
				}
				if len(o.Differing) > 1 {
					in += "s"
				}
				fmt.Fprintf(a.stdout, "line %d: stored already as %s, which holds other values than the file's in %s %s: %s\n",
					o.Line, o.HelpRequest, in, strings.Join(o.Differing, ", "), notAppliedAdvice(o.stored))
			}
			sameTimeNotes(a.stdout, fmt.Sprintf("line %d: ", o.Line), "this person", o.SameTimeRequests)
		}
		if checkOnly {
			fmt.Fprintf(a.stdout, "Checked %s: %d can be sent, %d failed. Nothing was sent.\n", rowCount(len(rows)), counts["checked"], counts["failed"])
		} else {
			fmt.Fprintf(a.stdout, "%d created, %d already there", counts["created"], counts["existing"])
			if n := counts["differing"]; n > 0 {
				fmt.Fprintf(a.stdout, " (%d with other details, not applied)", n)
			}
			fmt.Fprintf(a.stdout, ", %d failed", counts["failed"])
			if n := counts["unconfirmed"]; n > 0 {
				fmt.Fprintf(a.stdout, ", %d not confirmed (being sent as it stopped: they may be stored)", n)
			}
			if n := counts["not_sent"]; n > 0 {
				fmt.Fprintf(a.stdout, ", %d not sent", n)
			}
			fmt.Fprintf(a.stdout, " (%s).\n", rowCount(len(rows)))
		}
	}
	if importErr != nil {
		if len(results) == 0 && len(unconfirmed) == 0 && neverSent(importErr) {
			msg, code := a.describe(importErr)
			return &cliError{code: code, msg: "Nothing was stored: " + msg + " Run the same file again once it can be reached."}
		}
		return a.importStopped(importErr)
	}
	if n := counts["failed"]; n > 0 {
		return &cliError{code: exitFailed, msg: fmt.Sprintf("%d of %s failed: fix them and run the same file again (rows already stored are not stored twice).", n, rowCount(len(rows)))}
	}
	return nil
}

// notAppliedAdvice says what to do about a stored request a row differs
// from. An erased one cannot be edited, and a closed one is never matched
// again (nor can its time be edited): told to edit either, staff met a
// refusal, or changed a request no volunteer would be sent for.
func notAppliedAdvice(stored *pb.HelpRequest) string {
	const anew = "if help is still needed, give the row a new external_id, and the import takes a new request."
	switch st := stored.GetState(); {
	case stored.GetPersonalDataRemovedTime() != nil:
		return "the import did not change it, and it cannot be changed: its personal data was erased, and it is kept only as a record of what happened; " + anew
	case st == pb.HelpRequest_STATE_FULFILLED || st == pb.HelpRequest_STATE_CANCELLED || st == pb.HelpRequest_STATE_EXPIRED:
		return "the import did not change it, and it is " + stateWord(st) + ", so it is never matched again; " + anew
	}
	id := strings.TrimPrefix(stored.GetName(), "helpRequests/")
	return "the import did not change it; if the file is right, change the request (doorstep request edit " + id + ")."
}

// readOtherwiseThen says whether row's time columns, read as of when
// stored was created, give another time than they give now: words such as
// "tomorrow" or "until 17:30", read again the next day (a nightly file) or
// a minute on (a stopped import run again to finish). Such a time differs
// from the stored one with nothing changed in the file, and was said to,
// with advice to move the visit a day; whether the file changed it cannot
// be told, so it is not said to differ.
func readOtherwiseThen(row importRow, stored *pb.HelpRequest) bool {
	if row.timingAt == nil || stored.GetCreateTime() == nil {
		return false
	}
	then, err := row.timingAt(stored.GetCreateTime().AsTime())
	if err != nil {
		return false
	}
	var now timing
	switch t := row.hr.GetTiming().(type) {
	case *pb.HelpRequest_Window:
		now.start, now.end = t.Window.GetStartTime().AsTime(), t.Window.GetEndTime().AsTime()
	case *pb.HelpRequest_Deadline:
		now.deadline = t.Deadline.AsTime()
	}
	return !then.start.Equal(now.start) || !then.end.Equal(now.end) || !then.deadline.Equal(now.deadline)
}

// differingColumns names a stored row's differing fields by the CSV
// columns of r that set them, or as the JSONL row's fields. A field no
// column of the file sets (an urgency or a street staff gave the request,
// in a file without those columns) is left out: the file says nothing of
// it, and named every night it would have the partner "correct" staff's
// change back to nothing. A field this version does not know is named as
// it is. The circumstances are one field (vulnerability), as a mask
// names them, and four columns: those whose values differ from stored's
// are named, not every one the file has.
func differingColumns(fields []string, r importRow, stored *pb.HelpRequest) []string {
	if r.columns == nil {
		return fields
	}
	var out []string
	for _, f := range fields {
		var cols []string
		switch f {
		case "window", "deadline":
			cols = r.timingColumns
		case "location.lat_lng":
			cols = []string{"lat", "lng"}
		case "vulnerability":
			sv, tv := r.hr.GetVulnerability(), stored.GetVulnerability()
			for _, c := range []struct {
				col    string
				differ bool
			}{
				{"lives_alone", sv.GetLivesAlone() != tv.GetLivesAlone()}, {"shielding", sv.GetShielding() != tv.GetShielding()},
				{"no_internet", sv.GetNoInternet() != tv.GetNoInternet()}, {"reduced_mobility", sv.GetReducedMobility() != tv.GetReducedMobility()},
			} {
				if c.differ || stored == nil {
					cols = append(cols, c.col)
				}
			}
		case "remote_ok", "enters_home":
			cols = []string{f}
		default:
			c, ok := columnOf[f]
			if !ok {
				out = append(out, f)
				continue
			}
			cols = []string{strings.TrimPrefix(c, "column ")}
		}
		for _, c := range cols {
			if r.columns[c] && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// jsonlHints name, for a JSONL row, the field to give coordinates in: it
// has fields where a CSV has columns, and a column named to it is not there.
var jsonlHints = map[string]string{"location.lat_lng": "location.lat_lng"}

// rowSentence describes a row's error by the columns at fault, or for a
// JSONL row by its fields alone.
func rowSentence(e *pb.RowError, fromCSV bool) string {
	if len(e.FieldViolations) == 0 {
		return strings.TrimSuffix(sentence(e.Message), ".") + " (" + e.Reason + ")."
	}
	var vs []*errdetails.BadRequest_FieldViolation
	for _, v := range e.FieldViolations {
		fv := &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description}
		if len(e.FieldViolations) == 1 {
			fv.Reason = e.Reason
		}
		vs = append(vs, fv)
	}
	hints := jsonlHints
	if fromCSV {
		hints = columnOf
	}
	return violationsSentence(vs, e.Reason, hints)
}

func (a *app) readCSV(in io.Reader, org string) ([]importRow, error) {
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, usageErrorf("cannot read the file: %v", err)
	}
	data, from1252 := decodeCSV(data)
	if from1252 {
		fmt.Fprintln(a.stderr, `Note: the file is not UTF-8 text, so it was read as Windows-1252 (what Excel saves as "CSV"): check names with accents once stored, or save the file as "CSV UTF-8" to be sure.`)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // checked per row, so that one short row does not hide the rest
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return nil, usageErrorf("cannot read the CSV header row: %v", err)
	}
	col := map[string]int{}
	known := map[string]bool{}
	for _, c := range csvColumns {
		known[c.name] = true
	}
	for i, h := range header {
		name := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(h)), " ", "_")
		if !known[name] {
			return nil, usageErrorf("line 1: unknown column %q; the columns are listed by doorstep import --help", h)
		}
		if _, dup := col[name]; dup {
			return nil, usageErrorf("line 1: column %q appears twice", name)
		}
		col[name] = i
	}
	columns := map[string]bool{}
	for c := range col {
		columns[c] = true
	}
	var missing []string
	for _, req := range []string{"external_id", "postcode", "needs", "name", "phone"} {
		if _, ok := col[req]; !ok {
			missing = append(missing, req)
		}
	}
	_, hasWhen := col["when"]
	_, hasStart := col["window_start"]
	_, hasDeadline := col["deadline"]
	if !hasWhen && !hasStart && !hasDeadline {
		missing = append(missing, "when (or window_start and window_end, or deadline)")
	}
	if len(missing) > 0 {
		return nil, usageErrorf("line 1: the header lacks the column %s", strings.Join(missing, ", "))
	}
	var rows []importRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			rows = append(rows, importRow{line: pe.StartLine, err: sentence(pe.Err.Error())})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read csv: %w", err)
		}
		line, _ := r.FieldPos(0)
		// Spreadsheets keep rows once used and then cleared as bare
		// separators (",,,,,"): nothing was meant there.
		if !slices.ContainsFunc(rec, func(f string) bool { return strings.TrimSpace(f) != "" }) {
			continue
		}
		if len(rec) != len(header) {
			rows = append(rows, importRow{line: line, err: fmt.Sprintf("The row has %d fields but the header has %d.", len(rec), len(header))})
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if bad := invalidUTF8Columns(header, rec); len(bad) > 0 {
			// The row keeps its external_id, unless that is the column at
			// fault: the report names the record to mend by it, and a
			// later row with it is a repeat (refuseRepeats).
			ext := get("external_id")
			if !utf8.ValidString(ext) {
				ext = ""
			}
			rows = append(rows, importRow{line: line, err: fmt.Sprintf(`Column %s is not valid UTF-8 text: save the file as "CSV UTF-8" and import it again.`, strings.Join(bad, ", ")), ext: ext})
			continue
		}
		hr, err := a.csvRow(get, org)
		if err != nil {
			rows = append(rows, importRow{line: line, err: sentence(err.Error()), ext: get("external_id")})
			continue
		}
		var timingColumns []string
		for _, c := range []string{"when", "window_start", "window_end", "deadline"} {
			if get(c) != "" {
				timingColumns = append(timingColumns, c)
			}
		}
		rows = append(rows, importRow{line: line, hr: hr, columns: columns, timingColumns: timingColumns,
			timingAt: func(now time.Time) (timing, error) { return csvTimingAt(get, now) }})
	}
}

// utf8BOM marks a file as UTF-8; Windows tools (Excel's "CSV UTF-8",
// PowerShell, Notepad) write it.
var utf8BOM = []byte("\ufeff")

// decodeCSV returns a CSV file's text as UTF-8 without a byte order mark,
// and whether it was read as Windows-1252.
//
// Excel on Windows saves "CSV (Comma delimited)" in the system code page,
// Windows-1252 for UK users, so a partner's file with "Zoë" in it holds
// the byte 0xEB. Such a file is 1252 throughout, and reading it as such is
// what its sender meant; refusing each row with an accented name would
// turn away the very people whose names are not plain ASCII, for a fault
// of the tool that saved the file, so we decode it and say so. A file with
// a byte order mark, or with valid UTF-8 beyond ASCII, is UTF-8 with a few
// bad bytes (pasted in from elsewhere): decoding it as 1252 would garble
// its good text, so it is left as it is and readCSV reports the rows at
// fault.
func decodeCSV(data []byte) ([]byte, bool) {
	if bytes.HasPrefix(data, utf8BOM) {
		return data[len(utf8BOM):], false
	}
	if utf8.Valid(data) {
		return data, false
	}
	for i := 0; i < len(data); {
		_, n := utf8.DecodeRune(data[i:])
		if n > 1 {
			return data, false
		}
		i += n
	}
	out := make([]byte, 0, len(data)+len(data)/8)
	for _, b := range data {
		r := rune(b) // 0x00-0x7F and 0xA0-0xFF are as in Latin-1
		if b >= 0x80 && b < 0xA0 {
			r = cp1252[b-0x80]
		}
		out = utf8.AppendRune(out, r)
	}
	return out, true
}

// cp1252 is what Windows-1252 has at 0x80-0x9F, where it differs from
// Latin-1; the five unassigned bytes stay as the C1 controls, as browsers
// read them. A table this small spares the module a dependency.
var cp1252 = [32]rune{
	'€', 0x81, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0x8D, 'Ž', 0x8F,
	0x90, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0x9D, 'ž', 'Ÿ',
}

// invalidUTF8Columns names the columns of rec whose text is not UTF-8.
func invalidUTF8Columns(header, rec []string) []string {
	var bad []string
	for i, f := range rec {
		if !utf8.ValidString(f) {
			bad = append(bad, strings.TrimSpace(header[i]))
		}
	}
	return bad
}

// spreadsheetPhone says what a spreadsheet did to a phone number it took
// for a number, as Excel does to a column not formatted as text, when the
// file is saved as CSV: it drops the leading 0 ("7700900123") or the +
// ("447700900123"), and writes a long one in scientific form
// ("7.7009E+09"). Told only "not a phone number", staff looking at the
// sheet see a number; told what happened, they can mend the column. It is
// "" for a number that shows none of it.
func spreadsheetPhone(s string) string {
	s = strings.TrimSpace(s)
	if _, err := strconv.ParseFloat(s, 64); err == nil && strings.ContainsAny(s, "eE") {
		return "was written by a spreadsheet in scientific form, which loses digits: format the phone column as text and type the numbers again"
	}
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return ""
	}
	if n, err := phone.Normalise("0" + s); err == nil && s[0] != '0' {
		return fmt.Sprintf("has lost its leading 0 (%s), as a spreadsheet drops it from numbers: format the phone column as text and put the 0 back", phoneWords(n))
	}
	if n, err := phone.Normalise("+" + s); err == nil && strings.HasPrefix(s, "44") {
		return fmt.Sprintf("has lost its leading + (%s), as a spreadsheet drops it from numbers: format the phone column as text and put the + back", phoneWords(n))
	}
	return ""
}

// csvRow builds a request from one row, checking what can be checked
// without the server so that typing slips are reported all together.
func (a *app) csvRow(get func(string) string, org string) (*pb.HelpRequest, error) {
	var probs []string
	hr := &pb.HelpRequest{
		ExternalId:     get("external_id"),
		Details:        get("details"),
		RequiredSkills: splitList(strings.ToLower(get("skills"))),
		Organisation:   org,
		Location:       &pb.Location{Postcode: get("postcode"), Street: get("street"), AddressLines: splitLines(get("address"))},
		Requester:      &pb.Contact{DisplayName: get("name"), Phone: get("phone")},
	}
	if hr.ExternalId == "" {
		probs = append(probs, "external_id is empty")
	}
	if o := strings.ToLower(get("organisation")); o != "" && o != org {
		probs = append(probs, fmt.Sprintf("organisation %q is not --org %s", o, org))
	}
	if _, err := geo.NormalisePostcode(hr.Location.Postcode); err != nil {
		probs = append(probs, fmt.Sprintf("postcode %q is not a UK postcode", hr.Location.Postcode))
	}
	if lat, lng := get("lat"), get("lng"); lat != "" || lng != "" {
		la, err1 := strconv.ParseFloat(lat, 64)
		ln, err2 := strconv.ParseFloat(lng, 64)
		switch {
		case err1 != nil || err2 != nil:
			probs = append(probs, "lat and lng must both be decimal degrees")
		case !geo.ValidLatLng(la, ln):
			probs = append(probs, "lat must be from -90 to 90 and lng from -180 to 180")
		case geo.NullIsland(la, ln):
			// As the server refuses it: how an empty cell often arrives.
			probs = append(probs, "lat and lng are 0, 0, which is what missing coordinates read as: give the address's coordinates, or leave both empty for the postcode's centre")
		default:
			hr.Location.LatLng = &pb.LatLng{Latitude: la, Longitude: ln}
		}
	}
	needs, err := parseNeeds(get("needs"))
	if err != nil {
		probs = append(probs, "needs: "+err.Error())
	}
	hr.Needs = needs
	if get("urgency") != "" {
		u, err := parseUrgency(get("urgency"))
		if err != nil {
			probs = append(probs, "urgency: "+err.Error())
		}
		hr.Urgency = u
	}
	if hr.Requester.DisplayName == "" {
		probs = append(probs, "name is empty")
	}
	if _, err := phone.Normalise(hr.Requester.Phone); errors.Is(err, phone.ErrExtension) || errors.Is(err, phone.ErrRelay) {
		probs = append(probs, "phone "+phoneFault(hr.Requester.Phone, err, "", true).Error())
	} else if why := spreadsheetPhone(hr.Requester.Phone); err != nil && why != "" {
		probs = append(probs, fmt.Sprintf("phone %q %s", hr.Requester.Phone, why))
	} else if err != nil {
		probs = append(probs, fmt.Sprintf("phone %q is not a phone number", hr.Requester.Phone))
	}
	t, err := a.csvTiming(get)
	if err != nil {
		probs = append(probs, err.Error())
	} else if t.start.IsZero() {
		hr.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(t.deadline)}
	} else {
		hr.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(t.start), EndTime: timestamppb.New(t.end)}}
	}
	vul := &pb.Vulnerability{}
	for _, f := range []struct {
		col string
		set *bool
	}{
		{"remote_ok", &hr.RemoteOk}, {"enters_home", &hr.EntersHome}, {"lives_alone", &vul.LivesAlone},
		{"shielding", &vul.Shielding}, {"no_internet", &vul.NoInternet}, {"reduced_mobility", &vul.ReducedMobility},
	} {
		b, err := parseYesNo(get(f.col), false)
		if err != nil {
			probs = append(probs, f.col+": "+err.Error())
		}
		*f.set = b
	}
	if vul.LivesAlone || vul.Shielding || vul.NoInternet || vul.ReducedMobility {
		hr.Vulnerability = vul
	}
	if len(probs) > 0 {
		return nil, errors.New(strings.Join(probs, "; "))
	}
	return hr, nil
}

func (a *app) csvTiming(get func(string) string) (timing, error) {
	return csvTimingAt(get, a.now())
}

// csvTimingAt reads a row's time columns as of now.
func csvTimingAt(get func(string) string, now time.Time) (timing, error) {
	when, start, end, deadline := get("when"), get("window_start"), get("window_end"), get("deadline")
	switch {
	case when != "":
		if start != "" || end != "" || deadline != "" {
			return timing{}, errors.New("give when, or window_start and window_end, or deadline: only one of them")
		}
		return readWhen(when, now)
	case deadline != "":
		if start != "" || end != "" {
			return timing{}, errors.New("give a window or a deadline, not both")
		}
		p, err := parsePoint(strings.ToLower(deadline), now, now)
		if err != nil {
			return timing{}, fmt.Errorf("deadline: %v", err)
		}
		return timing{deadline: p.at()}, nil
	case start != "" && end != "":
		ps, errS := parsePoint(strings.ToLower(start), now, now)
		if _, far := farLeapDay(errS); errS != nil && !far {
			return timing{}, fmt.Errorf("window_start: %v", errS)
		}
		pe, err := parsePoint(strings.ToLower(end), now, ps.day)
		if err != nil {
			return timing{}, fmt.Errorf("window_end: %v", err)
		}
		// Read as when's window is, so that a file run again in the new
		// year still reads a window begun in the old as its stored row;
		// so too one begun on the 29 February gone, the next years off.
		begun := begunLastYear(strings.ToLower(start), ps, pe)
		if errS != nil && begun.day.Equal(ps.day) {
			return timing{}, fmt.Errorf("window_start: %v", errS)
		}
		ps = begun
		// Checked as when's window is: one wholly in the hour the clocks
		// skip would otherwise reach the server as empty, and be refused
		// in words that do not say why.
		return windowOf(ps, pe, fmt.Sprintf("the window %q to %q", start, end))
	case start != "" || end != "":
		return timing{}, errors.New("a window needs both window_start and window_end")
	}
	return timing{}, errors.New("say when: fill in when, window_start and window_end, or deadline")
}

func readJSONL(in io.Reader, org string) ([]importRow, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	var rows []importRow
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if line == 1 {
			// Notepad and PowerShell's Out-File -Encoding UTF8 start the
			// file with one. Any other encoding is left to protojson to
			// refuse line by line: JSON must be UTF-8, and no spreadsheet
			// writes JSONL.
			text = strings.TrimPrefix(text, "\ufeff")
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		hr := &pb.HelpRequest{}
		if err := protojson.Unmarshal([]byte(text), hr); err != nil {
			rows = append(rows, importRow{line: line, err: sentence("not a HelpRequest in protobuf JSON: " + jsonProblem(err))})
			continue
		}
		// Compared as readCSV and the server compare organisations: a
		// partner's export may write its own in capitals.
		if o := strings.ToLower(strings.TrimSpace(hr.Organisation)); o != "" && o != org {
			rows = append(rows, importRow{line: line, err: fmt.Sprintf("Organisation %q is not --org %s.", hr.Organisation, org), ext: hr.ExternalId})
			continue
		}
		hr.Organisation = org
		if strings.TrimSpace(hr.ExternalId) == "" {
			rows = append(rows, importRow{line: line, err: "external_id is empty: every imported row needs one, so that a re-run creates nothing new."})
			continue
		}
		// As a CSV's lat and lng are checked, and the server refuses them:
		// an export that writes every field gives a missing place as zeros
		// or "lat_lng": {}, and each such row would fail only once sent.
		if ll := hr.GetLocation().GetLatLng(); ll != nil {
			switch {
			case !geo.ValidLatLng(ll.Latitude, ll.Longitude):
				rows = append(rows, importRow{line: line, err: "location.lat_lng must have latitude from -90 to 90 and longitude from -180 to 180.", ext: hr.ExternalId})
				continue
			case geo.NullIsland(ll.Latitude, ll.Longitude):
				rows = append(rows, importRow{line: line, err: "location.lat_lng is 0, 0, which is what missing coordinates read as: " +
					"give the address's coordinates, or leave lat_lng out for the postcode's centre.", ext: hr.ExternalId})
				continue
			}
		}
		if probs := jsonlSlips(hr); len(probs) > 0 {
			rows = append(rows, importRow{line: line, err: strings.Join(probs, "; ") + ".", ext: hr.ExternalId})
			continue
		}
		rows = append(rows, importRow{line: line, hr: hr})
	}
	if err := sc.Err(); err != nil {
		return nil, usageErrorf("cannot read the file: %v", err)
	}
	return rows, nil
}

// jsonlSlips are a JSONL row's slips that csvRow finds in a CSV's, and
// the server would refuse, so that --check reports them before anything
// is sent. Named by the JSON field, as the row gives them.
func jsonlSlips(hr *pb.HelpRequest) []string {
	var probs []string
	if pc := hr.GetLocation().GetPostcode(); pc == "" {
		probs = append(probs, "location.postcode is empty")
	} else if _, err := geo.NormalisePostcode(pc); err != nil {
		probs = append(probs, fmt.Sprintf("location.postcode %q is not a UK postcode", pc))
	}
	if strings.TrimSpace(hr.GetRequester().GetDisplayName()) == "" {
		probs = append(probs, "requester.display_name is empty")
	}
	if ph := hr.GetRequester().GetPhone(); ph == "" {
		probs = append(probs, "requester.phone is empty")
	} else if _, err := phone.Normalise(ph); errors.Is(err, phone.ErrExtension) || errors.Is(err, phone.ErrRelay) {
		probs = append(probs, "requester.phone "+phoneFault(ph, err, "", true).Error())
	} else if err != nil {
		probs = append(probs, fmt.Sprintf("requester.phone %q is not a phone number", ph))
	}
	if len(hr.GetNeeds()) == 0 {
		probs = append(probs, "needs is empty: say what is needed")
	}
	if hr.GetTiming() == nil {
		probs = append(probs, "say when: give window or deadline")
	}
	return probs
}

// jsonProblem drops protojson's "proto:" prefix and odd spacing.
func jsonProblem(err error) string {
	msg := strings.TrimPrefix(err.Error(), "proto:")
	return strings.Join(strings.Fields(msg), " ")
}

// importStopped says why an import ended before its last row, and how to
// finish it. A full disk's usual sentence ("nothing was changed") is of
// one call, where rows sent before it are stored: it says so instead.
func (a *app) importStopped(err error) *cliError {
	if client.Reason(err) == server.ReasonStorageFull {
		return &cliError{code: exitFailed, msg: "The import stopped part way: the server's disk is full, so the rows from there on were not stored (" +
			server.ReasonStorageFull + "). Tell whoever runs the server; once they have freed space, run the same file again to finish it: " +
			"rows already stored are not stored twice."}
	}
	msg, code := a.describe(err)
	return &cliError{code: code, msg: fmt.Sprintf("The import stopped part way: %s Run the same file again to finish it; rows already stored are not stored twice.", msg)}
}
