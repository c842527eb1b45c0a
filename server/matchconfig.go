package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/doorstep-aid/doorstep/matcher"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// The matching rules an operator may set (doorstepd --matching-config), as
// JSON. Every field is optional and keeps its default (matcher.DefaultConfig)
// when left out, down to each field of each need, so that a file says only
// what a group does differently:
//
//	{
//	  "needs": {
//	    "grocery_shopping": {"max_metres": 3000},
//	    "transport": {"max_metres": 15000, "min_vetting": "enhanced", "minutes": 180},
//	    "befriending_call": {"skills": ["befriender"]}
//	  },
//	  "enters_home_vetting": "enhanced",
//	  "same_street_metres": 200, "same_postcode_metres": 100,
//	  "fairness_metres": 250, "fairness_window": "168h",
//	  "continuity_metres": 500
//	}
//
// Needs are named as in the API without NEED_, in lower case; vetting levels
// are none, basic and enhanced. A need's skills replace its
// default skills ([] needs none); its minutes are how long its job takes,
// for fitting a volunteer's jobs with windows one after another. Weights are in metres: a bonus or penalty
// is worth being that much nearer or farther.
type matchingConfigFile struct {
	Needs              map[string]needRuleFile `json:"needs"`
	EntersHomeVetting  *string                 `json:"enters_home_vetting"`
	SameStreetMetres   *float64                `json:"same_street_metres"`
	SamePostcodeMetres *float64                `json:"same_postcode_metres"`
	FairnessMetres     *float64                `json:"fairness_metres"`
	FairnessWindow     *string                 `json:"fairness_window"`
	ContinuityMetres   *float64                `json:"continuity_metres"`
}

type needRuleFile struct {
	MaxMetres  *float64  `json:"max_metres"`
	MinVetting *string   `json:"min_vetting"`
	Skills     *[]string `json:"skills"`
	Minutes    *int      `json:"minutes"`
}

// Bounds of the matching config: a need's reach is a volunteer's (minDistance
// to maxDistance); a weight beyond maxWeight would outweigh any distance; the
// fairness window is at most the week of assignment times each volunteer's
// record keeps (recent_assignment_times): a longer one would count only
// that week's, and rank the busy above the idle.
const (
	maxWeight         = maxDistance
	maxFairnessWindow = 7 * 24 * time.Hour
	// maxMatchingConfigBytes is far more than every field of every need.
	maxMatchingConfigBytes = 1 << 20
)

// ReadMatchingConfig reads the matching rules from JSON (see
// matchingConfigFile) over the defaults. A mistake is an error naming the
// field, and nothing is half applied.
func ReadMatchingConfig(r io.Reader) (matcher.Config, error) {
	// The whole file is read to find keys given twice; a rules file is a
	// few hundred bytes, and another file named by mistake (the gazetteer,
	// a gigabyte) must not be read whole first.
	data, err := io.ReadAll(io.LimitReader(r, maxMatchingConfigBytes+1))
	if err != nil {
		return matcher.Config{}, fmt.Errorf("matching config: %w", err)
	}
	if len(data) > maxMatchingConfigBytes {
		return matcher.Config{}, fmt.Errorf("matching config: larger than %d bytes: is it the right file?", maxMatchingConfigBytes)
	}
	if field, at := keyGivenTwice(data); field != "" {
		return matcher.Config{}, fmt.Errorf("matching config: %s: given twice (%s): say it once", field, lineOf(data, at))
	}
	var f matchingConfigFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		// The decoder says what is wrong but not where, and names a need's
		// fields without the need ("needs.max_metres").
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax):
			return matcher.Config{}, fmt.Errorf("matching config: %w (%s)", err, lineOf(data, syntax.Offset-1))
		case errors.As(err, &typ):
			return matcher.Config{}, fmt.Errorf("matching config: %w (%s)", err, lineOf(data, typ.Offset))
		}
		// An unknown field's error gives neither: find its key in the file,
		// where it stands, not a field of that name elsewhere.
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			if at := unknownKeyAt(data); at >= 0 {
				return matcher.Config{}, fmt.Errorf("matching config: unknown field %s (%s)", name, lineOf(data, at))
			}
		}
		return matcher.Config{}, fmt.Errorf("matching config: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return matcher.Config{}, errors.New("matching config: more than one JSON object")
	}
	cfg := matcher.DefaultConfig()
	cfg.Needs = maps.Clone(cfg.Needs)
	var v violations
	for _, name := range slices.Sorted(maps.Keys(f.Needs)) {
		rf := f.Needs[name]
		field := "needs." + name
		n, ok := pb.Need_value["NEED_"+strings.ToUpper(name)]
		if !ok || n == int32(pb.Need_NEED_UNSPECIFIED) || name != strings.ToLower(name) {
			v.add(field, "is not a need; the needs are "+strings.Join(enumNames(pb.Need_name, "NEED_"), ", "))
			continue
		}
		rule := cfg.Needs[pb.Need(n)]
		if rf.MaxMetres != nil {
			rule.MaxMetres = *rf.MaxMetres
			if !(rule.MaxMetres >= minDistance && rule.MaxMetres <= maxDistance) {
				v.add(field+".max_metres", fmt.Sprintf("must be from %d to %d metres", minDistance, maxDistance))
			}
		}
		if rf.MinVetting != nil {
			rule.MinVetting = vettingLevel(&v, field+".min_vetting", *rf.MinVetting)
		}
		if rf.Skills != nil {
			rule.Skills = cleanSkills(&v, field+".skills", slices.Clone(*rf.Skills), maxRequestSkill)
		}
		if rf.Minutes != nil {
			if rule.Minutes = *rf.Minutes; rule.Minutes < 1 || rule.Minutes > 24*60 {
				v.add(field+".minutes", "must be from 1 to 1440 (a day)")
			}
		}
		cfg.Needs[pb.Need(n)] = rule
	}
	if f.EntersHomeVetting != nil {
		cfg.EntersHomeVetting = vettingLevel(&v, "enters_home_vetting", *f.EntersHomeVetting)
	}
	for _, w := range []struct {
		field string
		from  *float64
		to    *float64
	}{
		{"same_street_metres", f.SameStreetMetres, &cfg.SameStreetMetres},
		{"same_postcode_metres", f.SamePostcodeMetres, &cfg.SamePostcodeMetres},
		{"fairness_metres", f.FairnessMetres, &cfg.FairnessMetres},
		{"continuity_metres", f.ContinuityMetres, &cfg.ContinuityMetres},
	} {
		if w.from == nil {
			continue
		}
		if *w.to = *w.from; !(*w.to >= 0 && *w.to <= maxWeight) {
			v.add(w.field, fmt.Sprintf("must be from 0 to %d metres", maxWeight))
		}
	}
	if f.FairnessWindow != nil {
		d, err := time.ParseDuration(*f.FairnessWindow)
		// Whole hours: the candidates' sentences count jobs "in the last 36
		// hours", and would say "in the last 0 days" of a 30m window.
		if err != nil || d < time.Hour || d > maxFairnessWindow || d%time.Hour != 0 {
			v.add("fairness_window", fmt.Sprintf("must be a duration in whole hours such as \"168h\", from 1h to %.0fh (%d days)", maxFairnessWindow.Hours(), int(maxFairnessWindow.Hours()/24)))
		}
		cfg.FairnessWindow = d
	}
	if len(v) > 0 {
		return matcher.Config{}, fmt.Errorf("matching config: %s", v.describe())
	}
	return cfg, nil
}

// keyGivenTwice returns the first key given twice in one object of a JSON
// document, in any case, as a field path, with the offset of its second time.
// encoding/json keeps the last, so a need named twice in a file would
// lose the first entry's rules unseen. A document that is not JSON gives
// "", for the decoder to report.
func keyGivenTwice(data []byte) (string, int64) {
	type level struct {
		path    string
		object  bool
		wantKey bool   // an object's next token is a key
		key     string // or the value of this key
		keys    map[string]bool
		index   int // an array's next element
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var stack []*level
	// child is the path of the value that comes next.
	child := func() string {
		if len(stack) == 0 {
			return ""
		}
		l := stack[len(stack)-1]
		if !l.object {
			return fmt.Sprintf("%s[%d]", l.path, l.index)
		}
		if l.path == "" {
			return l.key
		}
		return l.path + "." + l.key
	}
	// valueDone moves the enclosing object on to its next key.
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		if l := stack[len(stack)-1]; l.object {
			l.wantKey = true
		} else {
			l.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", 0
		}
		if len(stack) > 0 {
			if l := stack[len(stack)-1]; l.wantKey {
				if k, ok := tok.(string); ok {
					l.key, l.wantKey = k, false
					// encoding/json takes a field's name in any case, so
					// "max_metres" and "Max_Metres" are one field.
					folded := strings.ToLower(strings.ToUpper(k))
					if l.keys[folded] {
						return child(), dec.InputOffset()
					}
					l.keys[folded] = true
					continue
				}
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{path: child(), object: true, wantKey: true, keys: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, &level{path: child()})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// unknownKeyAt returns the offset of the first key in data that names no
// field of the object it stands in, which is the one encoding/json refuses,
// or -1. The same name may be a field one level up or down ("skills" is a
// need's field, not the file's), or a value ("skills": ["max_km"]).
func unknownKeyAt(data []byte) int64 {
	const (
		anyKey = iota // the needs map, or a value no field describes
		file
		needs
		rule
	)
	fields := map[int][]string{
		file: jsonFields(reflect.TypeFor[matchingConfigFile]()),
		rule: jsonFields(reflect.TypeFor[needRuleFile]()),
	}
	type level struct {
		kind    int
		object  bool
		wantKey bool // an object's next token is a key
		key     string
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var stack []*level
	for {
		tok, err := dec.Token()
		if err != nil {
			return -1
		}
		if len(stack) > 0 {
			if l := stack[len(stack)-1]; l.wantKey {
				if k, ok := tok.(string); ok {
					l.key, l.wantKey = k, false
					// encoding/json takes a field's name in any case.
					if known := fields[l.kind]; known != nil && !slices.ContainsFunc(known, func(f string) bool { return strings.EqualFold(f, k) }) {
						return keyStart(data, dec.InputOffset())
					}
					continue
				}
			}
		}
		switch tok {
		case json.Delim('{'):
			kind := anyKey
			if len(stack) == 0 {
				kind = file
			} else if l := stack[len(stack)-1]; l.kind == file && strings.EqualFold(l.key, "needs") {
				kind = needs
			} else if l.kind == needs {
				kind = rule
			}
			stack = append(stack, &level{kind: kind, object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &level{kind: anyKey})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			fallthrough
		default: // a value done: its object's next token is a key
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].wantKey = true
			}
		}
	}
}

// jsonFields are the names encoding/json reads a struct's fields by.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

// keyStart is where the key that ends at end (its closing quote) begins.
func keyStart(data []byte, end int64) int64 {
	for i := end - 2; i >= 0; i-- {
		if data[i] != '"' {
			continue
		}
		backslashes := int64(0)
		for j := i - 1; j >= 0 && data[j] == '\\'; j-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return i
		}
	}
	return end
}

// lineOf says where offset lies in data, as people count: "line 5, column 18".
func lineOf(data []byte, offset int64) string {
	before := data[:min(max(offset, 0), int64(len(data)))]
	line := bytes.Count(before, []byte("\n")) + 1
	return fmt.Sprintf("line %d, column %d", line, len(before)-bytes.LastIndexByte(before, '\n'))
}

// vettingLevel parses a vetting level's name (none, basic, enhanced).
func vettingLevel(v *violations, field, name string) pb.Vetting_DbsLevel {
	l, ok := pb.Vetting_DbsLevel_value["DBS_LEVEL_"+strings.ToUpper(name)]
	if !ok || l == int32(pb.Vetting_DBS_LEVEL_UNSPECIFIED) || name != strings.ToLower(name) {
		v.add(field, "must be one of "+strings.Join(enumNames(pb.Vetting_DbsLevel_name, "DBS_LEVEL_"), ", "))
	}
	return pb.Vetting_DbsLevel(l)
}

// enumNames are an enum's values as a matching config names them: without
// prefix, in lower case, in the enum's order, less UNSPECIFIED (0).
func enumNames(names map[int32]string, prefix string) []string {
	var out []string
	for _, n := range slices.Sorted(maps.Keys(names)) {
		if n != 0 {
			out = append(out, strings.ToLower(strings.TrimPrefix(names[n], prefix)))
		}
	}
	return out
}

// describe lists violations as "field: why; field: why".
func (v violations) describe() string {
	var b bytes.Buffer
	for i, x := range v {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", x.Field, x.Description)
	}
	return b.String()
}
