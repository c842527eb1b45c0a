package main

import (
	"strings"
	"testing"
)

// TestRequestNewQuestionsSayTheirDefaultInWords: a question's default was
// shown only by which letter was a capital ("[Y/n]", "[y/N]") or by
// brackets ("[normal]", "[y]es"). A screen reader speaks neither the case
// of a letter nor, at its usual setting, brackets: "Must the volunteer go
// inside the home? y n" leaves the worker to guess what Enter does. Each
// question says in words what Enter means.
func TestRequestNewQuestionsSayTheirDefaultInWords(t *testing.T) {
	for _, tc := range []struct {
		needs string
		want  []string
	}{
		{"befriending", []string{
			"Urgency: low, normal, high or critical (Enter for normal): ",
			"Can it be done by phone, from anywhere? Yes or no (Enter for yes): ",
			"Save this request? Answer yes, no, or a name above to change it (Enter for yes): ",
		}},
		{"shopping", []string{
			"House number, flat or building (put a semicolon between lines; Enter to skip): ",
			"Must the volunteer go inside the home? Yes or no (Enter for no): ",
		}},
	} {
		t.Run(tc.needs, func(t *testing.T) {
			e := newTestEnv(t)
			term, code, _ := e.atTerminal(t, []string{"request", "new", "--postcode", "AB10 1AB", "--street", "",
				"--when", "tomorrow 10-12", "--details", "", "--name", "Margaret", "--phone", "01224 123456", "--org", org})
			term.expect("House number")
			term.send("")
			term.expect("Needs (numbers or names, e.g. 1 2): ")
			term.send(tc.needs)
			term.expect("Urgency")
			term.send("")
			term.expect("?")
			term.send("")
			term.expect("Skills the volunteer must have")
			term.send("")
			term.expect("Circumstances: ")
			term.send("")
			term.expect("Save this request?")
			term.send("yes")
			term.finished(t, code, "request new")
			text := strings.ReplaceAll(term.text(), "\r", "")
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("the terminal does not ask %q:\n%s", w, text)
				}
			}
			if strings.Contains(text, "[") {
				t.Errorf("a question puts its answers in brackets, which are not read aloud:\n%s", text)
			}
		})
	}
}

// TestSaveQuestionSaysWhatEnterDoes: "Save this request? [y]es, [n]o..."
// showed by its brackets that Enter saves; said in words it lost that,
// and a worker pressing Enter to hear the question again, or to pass it
// as the other questions let them, saved the request unawares. It says
// that Enter saves.
func TestSaveQuestionSaysWhatEnterDoes(t *testing.T) {
	e := newTestEnv(t)
	term, code, _ := e.atTerminal(t, []string{"request", "new", "--postcode", "AB10 1AB", "--street", "", "--address", "",
		"--needs", "befriending", "--urgency", "normal", "--when", "tomorrow 10-12", "--details", "", "--name", "Margaret",
		"--phone", "01224 123456", "--org", org})
	term.expect("Save this request?")
	term.send("")
	term.finished(t, code, "request new")
	text := strings.ReplaceAll(term.text(), "\r", "")
	if !strings.Contains(text, "Save this request? Answer yes, no, or a name above to change it (Enter for yes): ") {
		t.Errorf("the save question does not say that Enter saves:\n%s", text)
	}
}
