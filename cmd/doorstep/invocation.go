package main

import (
	"flag"
	"strings"

	"github.com/doorstep-aid/doorstep/client"
)

// invocation is one command being run. Its own options are declared on fs
// between begin and the parse, so that --help lists them and a mistake in
// them is reported against u.
type invocation struct {
	a  *app
	u  usage
	fs *flag.FlagSet
}

func (a *app) begin(name string, u usage) *invocation {
	return &invocation{a: a, u: u, fs: a.flagSet(name)}
}

// parse returns the positional arguments, however many; for commands that
// read them their own way (a phone number typed without quotes).
func (in *invocation) parse(args []string) ([]string, error) {
	return in.a.parse(in.fs, in.u, args)
}

// exactly returns the positional arguments, which must number n.
func (in *invocation) exactly(args []string, n int) ([]string, error) {
	pos, err := in.parse(args)
	if err != nil {
		return nil, err
	}
	if err := wantArgs(pos, n, in.u.synopsis); err != nil {
		return nil, err
	}
	return pos, nil
}

// optionsOnly is for commands whose every detail is an option: a stray
// word is the rest of a value typed without quotes, or else more likely a
// value that lost its option than a missing one, so the sentence names an
// option (example) rather than the synopsis.
func (in *invocation) optionsOnly(args []string, example string) error {
	pos, err := in.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		_, err := in.joinUnquoted(args, example, nil)
		return err
	}
	return nil
}

// edited is record for the edit commands, whose options take text typed
// without quotes as optionsOnly's do ("--street Union Street"); the
// record's id is the one word that is not part of an option's text.
func (in *invocation) edited(args []string, collection, what string) (string, error) {
	pos, err := in.parse(args)
	if err != nil {
		return "", err
	}
	if len(pos) > 1 {
		isID := func(w string) bool { _, err := resourceName(w, collection, what); return err == nil }
		if pos, err = in.joinUnquoted(args, "", isID); err != nil {
			return "", err
		}
	}
	if err := wantArgs(pos, 1, in.u.synopsis); err != nil {
		return "", err
	}
	return resourceName(pos[0], collection, what)
}

// joinUnquoted puts back together the values typed without quotes
// ("--postcode AB10 1AB", "--name Callum Reid"): a word after an option's
// text is the rest of that text, unless own says it is an argument of its
// own (a record's id), which is returned. Any other word, after a switch, a
// number or "--", is a mistake, and said so.
func (in *invocation) joinUnquoted(args []string, example string, own func(string) bool) ([]string, error) {
	stray := func(w string) error {
		if example == "" {
			return usageErrorf("unexpected %q: usage is %s", w, in.u.synopsis)
		}
		return usageErrorf("unexpected %q: every detail is given by an option, such as %s", w, example)
	}
	text := func(name string) bool {
		f := in.fs.Lookup(name)
		if f == nil {
			return false
		}
		g, ok := f.Value.(flag.Getter)
		if !ok {
			return true // fs.Func: the commands' text fields
		}
		_, isString := g.Get().(string)
		return isString
	}
	values := map[string]string{}
	var order, pos []string
	last := "" // the text option the words so far belong to
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			for _, w := range args[i+1:] {
				if own == nil || !own(w) {
					return nil, stray(w)
				}
				pos = append(pos, w)
			}
			break
		}
		if strings.HasPrefix(arg, "-") && len(arg) > 1 {
			name, value, inline := strings.Cut(strings.TrimPrefix(arg[1:], "-"), "=")
			last = ""
			f := in.fs.Lookup(name)
			if f == nil {
				continue // the parse would have said so
			}
			if b, isBool := f.Value.(interface{ IsBoolFlag() bool }); isBool && b.IsBoolFlag() {
				continue
			}
			if !inline && i+1 < len(args) {
				i++
				value = args[i]
			}
			if text(name) {
				last = name
				if _, seen := values[name]; !seen {
					order = append(order, name)
				}
				values[name] = value // a repeated option: the last one counts, as in the parse
			}
			continue
		}
		switch {
		case own != nil && own(arg):
			pos = append(pos, arg)
			last = ""
		case last == "":
			return nil, stray(arg)
		default:
			values[last] += " " + arg
		}
	}
	for _, name := range order {
		if err := in.fs.Set(name, values[name]); err != nil {
			return nil, usageErrorf("--%s: %v", name, err)
		}
	}
	return pos, nil
}

// record returns the resource name of the one argument, a record of
// collection ("helpRequests") that people call what ("help request").
func (in *invocation) record(args []string, collection, what string) (string, error) {
	pos, err := in.exactly(args, 1)
	if err != nil {
		return "", err
	}
	return resourceName(pos[0], collection, what)
}

// connect is exactly(args, 0) and then the client, for commands with
// nothing of their own to check before calling the server.
func (in *invocation) connect(args []string) (*client.Client, error) {
	if _, err := in.exactly(args, 0); err != nil {
		return nil, err
	}
	return in.a.client()
}

// connectTo is record and then the client, for commands with nothing of
// their own to check before calling the server.
func (in *invocation) connectTo(args []string, collection, what string) (string, *client.Client, error) {
	name, err := in.record(args, collection, what)
	if err != nil {
		return "", nil, err
	}
	c, err := in.a.client()
	if err != nil {
		return "", nil, err
	}
	return name, c, nil
}

// maxPageSize is the most asked for in one page, so that a long list is
// read in several calls rather than one answer of unbounded size.
const maxPageSize = 1000

// readPages calls list for page after page, asking for no more than limit
// items in all, until the server has no more or limit are read. more
// reports that limit stopped the reading with pages still to come. A
// server may give more than was asked for; callers that must show no more
// than limit cut the slice themselves.
func readPages[T any](limit int, list func(size int32, token string) ([]T, string, error)) (items []T, more bool, err error) {
	token := ""
	for {
		got, next, err := list(int32(min(limit-len(items), maxPageSize)), token)
		if err != nil {
			return nil, false, err
		}
		items = append(items, got...)
		if next == "" {
			return items, false, nil
		}
		if len(items) >= limit {
			return items, true, nil
		}
		token = next
	}
}

// joinArgs puts back together a value typed without quotes: the flag's
// value and the words the flag package left as positional arguments
// ("--phone 07700 900123", "--near AB10 1AB").
func joinArgs(flagValue string, pos []string) string {
	return strings.TrimSpace(strings.Join(append([]string{flagValue}, pos...), " "))
}
