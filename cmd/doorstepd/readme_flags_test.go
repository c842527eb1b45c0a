package main

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-aid/doorstep/internal/readmetest"
)

// readmeFlagRow is one flag of the README's table under "Run the server":
// what an operator reads before starting doorstepd.
type readmeFlagRow struct {
	flag, env, def string
}

// readmeFlagTable reads the table of doorstepd's flags from README.md.
// A row may name two flags ("`--tls-cert`, `--tls-key`") with their
// variables and defaults in the same order.
func readmeFlagTable(t *testing.T) []readmeFlagRow {
	t.Helper()
	section := readmetest.Section(t, "Run the server")
	cells := readmetest.Code
	var rows []readmeFlagRow
	for _, cols := range readmetest.Rows(t, section, "`--", 4, "| flag | environment | default | what |") {
		flags, envs, defs := cells(cols[0]), cells(cols[1]), cells(cols[2])
		for i, f := range flags {
			r := readmeFlagRow{flag: strings.TrimPrefix(f, "--")}
			if i < len(envs) {
				r.env = envs[i]
			}
			if i < len(defs) {
				r.def = defs[i]
			}
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		t.Fatal("README.md: no table of doorstepd's flags under Run the server")
	}
	return rows
}

// TestREADMEFlagTableIsTheFlags holds the README's table of doorstepd's
// flags to the flags themselves: an operator who sets a variable the
// table names, or counts on a default it states, gets what it says, and
// a flag the server takes is in the table.
func TestREADMEFlagTableIsTheFlags(t *testing.T) {
	var c config
	fs, err := flagSet(&c, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	inTable := map[string]bool{}
	for _, r := range readmeFlagTable(t) {
		inTable[r.flag] = true
		f := fs.Lookup(r.flag)
		if f == nil {
			t.Errorf("README names --%s, which doorstepd does not take", r.flag)
			continue
		}
		env := ""
		if m := envRE.FindStringSubmatch(f.Usage); m != nil {
			env = m[1]
		}
		if r.env != env {
			t.Errorf("README: --%s is set by environment variable %q; doorstepd reads %q", r.flag, r.env, env)
		}
		if !sameDefault(f, r.def) {
			t.Errorf("README: --%s defaults to %q; doorstepd's default is %q", r.flag, r.def, f.DefValue)
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !inTable[f.Name] {
			t.Errorf("doorstepd takes --%s, which the README's table of flags lacks", f.Name)
		}
	})
}

// sameDefault says whether the README's default, as a person writes it
// ("30m", "", "false" for a switch), is the flag's.
func sameDefault(f *flag.Flag, readme string) bool {
	if readme == f.DefValue {
		return true
	}
	if g, ok := f.Value.(flag.Getter); ok {
		switch v := g.Get().(type) {
		case time.Duration:
			d, err := time.ParseDuration(readme)
			return err == nil && d == v
		case bool:
			return readme == "" && !v
		}
	}
	return false
}
