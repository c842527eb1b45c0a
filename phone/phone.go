package phone

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ErrBad is returned by Normalise.
var ErrBad = errors.New("not a phone number")

// ErrExtension is returned by Normalise for a number followed
// by an extension ("01224 123456 ext 12": a switchboard's, as at a care
// home or in sheltered housing). It is an ErrBad, as a number is
// stored to be dialled and matched as it is; but saying "not a phone
// number" of it leaves staff looking at one, so callers say why instead.
var ErrExtension = fmt.Errorf("%w: it has an extension", ErrBad)

// ErrRelay is returned by Normalise for a number given with a
// Relay UK prefix ("18001 01224 123456"), which a deaf person's textphone
// is rung through. It is an ErrBad: the prefix is how a call is put
// through, not part of the number that names the person (their other
// requests, their erasure); but told "not a phone number", staff typed it
// again without the prefix and the volunteer rang a textphone, with
// nothing on the request to say so. Callers say why instead.
var ErrRelay = fmt.Errorf("%w: it has a Relay UK prefix", ErrBad)

// relayRE is the prefix a Relay UK call is dialled with: 18001 from a
// textphone, 18002 from a voice phone.
var relayRE = regexp.MustCompile(`^1800[12][\s.-]*`)

// extensionRE is a number and the extension people write after it: "ext
// 12", "ext. 12", "extn 12", "extension 12", "x12", "#12", or any of them
// in brackets, as a letterhead prints it ("(ext. 12)").
var extensionRE = regexp.MustCompile(`(?i)^(.*[0-9)])[\s,;]*(?:\(\s*)?(?:ext(?:ension|n)?\.?|x|#)\s*[:.]?\s*[0-9]{1,6}(?:\s*\))?$`)

// Normalise returns a phone number in E.164 form. It takes UK numbers
// as people say them ("01224 123456", "07700 900123", "+44 (0)1224 123456",
// "(+44) 7700 900123", "0044 1224 123456") and other countries' numbers
// starting with + or 00, without the trunk zero some print in brackets
// after the country code ("+353 (0)87 123 4567"), or type as at home
// ("+353 087 123 4567"), unless the country dials it from abroad too
// ("+39 (0)6 ...", Italy).
// Invisible formatting is dropped, direction marks too: a number copied from an address book, a mail or a chat comes
// wrapped in an embedding or a mark ("\u202a07700 900123\u202c") that
// the person reading it never saw.
func Normalise(s string) (string, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\u200e' || r == '\u200f' || r == '\u061c' {
			return -1
		}
		return DropInvisible(r)
	}, s)
	n, err := normalise(s)
	if err != nil {
		if m := extensionRE.FindStringSubmatch(strings.TrimSpace(s)); m != nil {
			if _, err := normalise(m[1]); err == nil {
				return "", ErrExtension
			}
		}
		if p := relayRE.FindString(strings.TrimSpace(s)); p != "" {
			if _, err := normalise(strings.TrimSpace(s)[len(p):]); err == nil {
				return "", ErrRelay
			}
		}
	}
	return n, err
}

// trunkZeroRE is the trunk prefix in brackets that a number carries
// after its country code, printed for callers from abroad ("+353 (0)87
// ...", "+44 (0)1224 ..."): dialled only from inside that country, and
// never after the country code (trunkZeroAfter says where it is one).
var trunkZeroRE = regexp.MustCompile(`^\(\s*0\s*\)`)

func normalise(s string) (string, error) {
	var b strings.Builder
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); {
		if m := trunkZeroRE.FindString(s[i:]); m != "" && trunkZeroAfter(b.String()) {
			i += len(m)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0:
			// First, or after a bracket: "(+44) 7700 900123", as
			// business cards and web forms print it.
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '\u00a0':
		default:
			return "", ErrBad
		}
	}
	n := b.String()
	switch {
	case strings.HasPrefix(n, "+"):
		n = n[1:]
	case strings.HasPrefix(n, "00"):
		n = n[2:]
	case strings.HasPrefix(n, "0"):
		n = "44" + n[1:]
	default:
		return "", ErrBad
	}
	if strings.HasPrefix(n, "440") {
		n = "44" + n[3:] // "+44 (0)1224 ..." keeps its trunk zero by habit
	}
	if strings.HasPrefix(n, "44") {
		national := n[2:]
		// UK numbers are 9 or 10 digits after the trunk prefix, and start
		// with 1, 2, 3, 5, 7, 8 or 9.
		if len(national) < 9 || len(national) > 10 || strings.IndexByte("1235789", national[0]) < 0 {
			return "", ErrBad
		}
		return "+" + n, nil
	}
	if cc := countryCode(n); cc != "" && !keepsZero[cc] && strings.HasPrefix(n[len(cc):], "0") {
		// "+353 087 ...": the trunk zero typed as at home, without its
		// brackets, is dropped as "+353 (0)87 ..."'s is, so that both
		// are one number (the caller's other requests, their erasure)
		// and the one that connects from here.
		n = cc + n[len(cc)+1:]
		if strings.HasPrefix(n[len(cc):], "0") {
			// "+353 00 87 ...": no number has two. Stored with one left
			// it would be another form of +353 87 ... (Forms), whose
			// new call gives the caller's records that form, which does
			// not connect.
			return "", ErrBad
		}
	}
	if len(n) < 8 || len(n) > 15 || n[0] == '0' {
		return "", ErrBad
	}
	return "+" + n, nil
}

// Today is a stored number as Normalise gives it now: the key the
// store's phone index has for it, so that one stored by an older version
// with its trunk zero after the country code (+3530871234567) is the same
// person as one stored without it (+353871234567). A number Normalise
// refuses now is its own key, as stored.
func Today(stored string) string {
	if n, err := Normalise(stored); err == nil {
		return n
	}
	return stored
}

// trunkZeroAfter says whether a bracketed zero after the digits read so
// far (n) is a trunk prefix, not dialled from abroad: n is a whole
// country code after + or 00, and not one of keepsZero. A zero further on
// is part of the number.
func trunkZeroAfter(n string) bool {
	switch {
	case strings.HasPrefix(n, "+"):
		n = n[1:]
	case strings.HasPrefix(n, "00"):
		n = n[2:]
	default:
		return false
	}
	return n != "" && countryCode(n) == n && !keepsZero[n]
}

// keepsZero are the country codes whose numbers keep their leading zero
// when dialled from abroad (Italy, San Marino, the Vatican; Côte
// d'Ivoire, Benin, Gabon and the Congo, whose numbers start with it):
// printed "+39 (0)6 ..." by other countries' habit, the zero is still
// dialled, and a number stored without it does not connect. Nor is the
// form without it the same number: in Gabon, +241 06 03 12 34 and +241
// 603 1234 are both in use, so Forms must not take one for the
// other.
var keepsZero = map[string]bool{"39": true, "378": true, "379": true, "225": true, "229": true, "241": true, "242": true}

// countryCode is the country calling code that the digits n start with,
// or "" if n is shorter than it. Country codes are prefix-free: 1 and 7
// are whole codes, the two-digit ones are listed, and every other code
// has three digits (ITU-T E.164 assignments).
func countryCode(n string) string {
	size := 3
	switch {
	case n == "":
		return ""
	case n[0] == '1' || n[0] == '7':
		size = 1
	case len(n) >= 2 && twoDigitCodes[n[:2]]:
		size = 2
	}
	if len(n) < size {
		return ""
	}
	return n[:size]
}

// Forms is phone (E.164, as Normalise returns it) and the form
// the same number takes with, or without, a zero after its country code,
// where the country never dials one from abroad: older versions stored
// "+353 (0)87 ..." and "+353 087 ..." as +3530871234567, while both are
// now +353871234567 (the store's schema 14 rewrote them, and keys its
// phone index by Today, so either form finds one person there). The
// command-line client asks for each form, as a server older than that
// keys a person by the number exactly as stored.
func Forms(phone string) []string {
	n, ok := strings.CutPrefix(phone, "+")
	cc := countryCode(n)
	if !ok || cc == "" || cc == "44" || keepsZero[cc] {
		return []string{phone} // a UK number's zero was always dropped
	}
	switch rest := n[len(cc):]; {
	case strings.HasPrefix(rest, "0") && len(rest) > 1:
		return []string{phone, "+" + cc + rest[1:]}
	case !strings.HasPrefix(rest, "0") && len(n) < 15:
		return []string{phone, "+" + cc + "0" + rest}
	}
	return []string{phone}
}

// twoDigitCodes are the country calling codes of two digits.
var twoDigitCodes = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields("20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98") {
		m[c] = true
	}
	return m
}()

// DropInvisible is for strings.Map (Normalise's, and the server's of
// every text it is sent): it drops the formatting a reader
// cannot see but a display acts on. Bidirectional embeddings, overrides
// and isolates turn what follows them around, on the line they are shown
// on (the phone number printed after a name); zero-width spaces, word
// joiners and a byte order mark (a spreadsheet's, at the start of a cell)
// hide inside a word, so that a name or street does not compare equal to
// the same one typed. Dropped, the text reads as a person saw it. The
// zero-width joiner and non-joiner, which Persian, Indic scripts and
// emoji need, and the direction marks of right-to-left text are kept.
func DropInvisible(r rune) rune {
	switch {
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069',
		r == '\u200b', r >= '\u2060' && r <= '\u2064', r == '\ufeff', r == '\u180e':
		return -1
	}
	return r
}
