package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// errAborted is returned when input ends (Ctrl-D) at a prompt.
var errAborted = errors.New("input ended at a prompt")

// prompter asks questions on a terminal. It reads whole lines in the
// terminal's own cooked mode, so that backspace and the like work as
// people expect and nothing is left in raw mode if the program dies.
type prompter struct {
	ctx   context.Context
	in    *bufio.Reader
	out   io.Writer
	lines chan readResult
}

type readResult struct {
	line string
	err  error
}

func newPrompter(ctx context.Context, in io.Reader, out io.Writer) *prompter {
	return &prompter{ctx: ctx, in: bufio.NewReader(in), out: out}
}

func (p *prompter) say(format string, args ...any) {
	fmt.Fprintf(p.out, format, args...)
}

// line asks once and returns the answer, trimmed.
func (p *prompter) line(question string) (string, error) {
	fmt.Fprint(p.out, question)
	// The read runs apart so that Ctrl-C (which cancels ctx) stops a
	// prompt at once instead of after the next Enter.
	if p.lines == nil {
		p.lines = make(chan readResult)
		go func() {
			for {
				s, err := p.in.ReadString('\n')
				select {
				case p.lines <- readResult{s, err}:
				case <-p.ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
	}
	select {
	case <-p.ctx.Done():
		fmt.Fprintln(p.out)
		return "", p.ctx.Err()
	case r := <-p.lines:
		if r.err != nil && (r.line == "" || !errors.Is(r.err, io.EOF)) {
			fmt.Fprintln(p.out)
			return "", errAborted
		}
		if r.err != nil {
			p.lines = closedLines() // the next question sees the end of input at once
		}
		return strings.TrimSpace(r.line), nil
	}
}

// closedLines is a source of lines that has ended.
func closedLines() chan readResult {
	c := make(chan readResult, 1)
	c <- readResult{err: io.EOF}
	return c
}

// ask asks until accept takes the answer, saying why each time it does not.
// An empty answer is given to accept too: it decides what blank means.
func (p *prompter) ask(question string, accept func(string) error) error {
	for {
		s, err := p.line(question)
		if err != nil {
			return err
		}
		err = accept(s)
		if err == nil {
			return nil
		}
		var ce *cliError
		if errors.As(err, &ce) && ce.code != exitUsage {
			return err // no use asking again if the server is gone or refuses us
		}
		p.say("  ! %s\n", sentence(err.Error()))
	}
}
