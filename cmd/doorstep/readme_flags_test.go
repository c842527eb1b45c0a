package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-aid/doorstep/internal/readmetest"
)

// TestREADMEFlagTableIsTheFlags holds the README's table of doorstep's
// flags, under "Helpline client", to the flags every command takes: a
// flag a worker gives before or after any command is in the table, with
// the variable that sets it and its default, and the table names none
// that doorstep does not take.
func TestREADMEFlagTableIsTheFlags(t *testing.T) {
	section := readmetest.Section(t, "Helpline client")
	cells := readmetest.Code

	// The variables doorstep reads, as it starts.
	read := map[string]bool{}
	getenv := func(name string) string { read[name] = true; return "" }
	if code := runAt(t.Context(), []string{"help"}, getenv, strings.NewReader(""), io.Discard, io.Discard, time.Now); code != exitOK {
		t.Fatalf("doorstep help: exit %d", code)
	}
	inEnvColumn := map[string]bool{}

	a := &app{cfg: config{addr: defaultAddr, timeout: defaultTimeout}}
	fs := a.flagSet("doorstep")
	inTable := map[string]bool{}
	rows := 0
	for _, cols := range readmetest.Rows(t, section, "`--", 4, "| flag | environment | default | what |") {
		rowEnvs, defs := cells(cols[1]), cells(cols[2])
		for i, f := range cells(cols[0]) {
			rows++
			name := strings.TrimPrefix(f, "--")
			inTable[name] = true
			env, def := "", ""
			if i < len(rowEnvs) {
				env = rowEnvs[i]
			}
			if i < len(defs) {
				def = defs[i]
			}
			if env != "" {
				inEnvColumn[env] = true
				if !read[env] {
					t.Errorf("README: --%s is set by environment variable %s, which doorstep does not read", name, env)
				}
			}
			if name == "org" {
				continue // each command's own, without a default
			}
			fl := fs.Lookup(name)
			if fl == nil {
				t.Errorf("README names --%s, which doorstep does not take", name)
				continue
			}
			// A switch off by default may be written so or left blank.
			if def != fl.DefValue && !(def == "" && fl.DefValue == "false") {
				t.Errorf("README: --%s defaults to %q; doorstep's default is %q", name, def, fl.DefValue)
			}
		}
	}
	if rows == 0 {
		t.Fatal("README.md: no table of doorstep's flags under Helpline client")
	}
	for env := range read {
		if strings.HasPrefix(env, "DOORSTEP_") && !inEnvColumn[env] {
			t.Errorf("doorstep reads %s, which the README's table of flags does not name", env)
		}
	}
	for name := range globalFlags {
		if !inTable[name] {
			t.Errorf("doorstep takes --%s before or after every command, which the README's table of flags lacks", name)
		}
	}
}
