package geo

import (
	"errors"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrBadPostcode is returned for text that is not a UK postcode.
var ErrBadPostcode = errors.New("not a UK postcode")

// The inward code never uses C, I, K, M, O or V, and each position of the
// outward code has its own alphabet; this is the Royal Mail format as
// published for the Government Data Standards Catalogue.
var postcodeRE = regexp.MustCompile(`^(GIR 0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]([0-9]|[ABEHMNPRV-Y])?|[0-9][A-HJKPS-UW]) [0-9][ABD-HJLNP-UW-Z]{2})$`)

var outwardRE = regexp.MustCompile(`^(GIR|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]([0-9]|[ABEHMNPRV-Y])?|[0-9][A-HJKPS-UW]))$`)

// squeeze upper-cases s and drops all white space, so that " ab10  1ab"
// and "AB101AB" compare equal. That is every space Unicode has: a
// postcode copied from a web page or a document is often spaced with a
// thin or narrow no-break space, and one typed on a Japanese or Chinese
// keyboard with an ideographic space, which read as the space they are.
func squeeze(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0',
			r >= utf8.RuneSelf && unicode.IsSpace(r):
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// invisible is the formatting a postcode copied from an address book, a
// mail or a spreadsheet brings with it, unseen by the person who copied
// it: direction marks, embeddings, overrides and isolates around it, a
// zero-width space or word joiner where its space was, a byte order mark
// at the start of a cell. A postcode holds none of them, so they go.
var invisible = strings.NewReplacer(
	"\u200b", "", "\u200e", "", "\u200f", "", "\u061c", "", "\ufeff", "", "\u180e", "",
	"\u202a", "", "\u202b", "", "\u202c", "", "\u202d", "", "\u202e", "",
	"\u2060", "", "\u2061", "", "\u2062", "", "\u2063", "", "\u2064", "",
	"\u2066", "", "\u2067", "", "\u2068", "", "\u2069", "")

// visible is s without invisible; a postcode as typed, all ASCII, as is
// (a gazetteer load reads millions).
func visible(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return invisible.Replace(s)
		}
	}
	return s
}

// NormalisePostcode returns s as a UK postcode in its standard form: upper
// case with one space before the three-character inward code ("AB10 1AB").
func NormalisePostcode(s string) (string, error) {
	s = visible(s)
	sq := squeeze(s)
	if len(sq) < 5 || len(sq) > 7 {
		return "", ErrBadPostcode
	}
	pc := sq[:len(sq)-3] + " " + sq[len(sq)-3:]
	if !postcodeRE.MatchString(pc) {
		return "", ErrBadPostcode
	}
	return pc, nil
}

// NormalisePostcodePrefix accepts a full postcode ("AB10 1AB"), a sector
// ("AB10 1") or a district ("AB10") and returns a prefix of normalised
// postcodes that selects exactly that area: "AB10 1AB", "AB10 1" or "AB10 ".
// The district keeps its trailing space so that "AB1" does not select AB10.
func NormalisePostcodePrefix(s string) (string, error) {
	s = visible(s)
	if pc, err := NormalisePostcode(s); err == nil {
		return pc, nil
	}
	trimmed := strings.ToUpper(strings.Join(strings.Fields(s), " "))
	sq := squeeze(s)
	// With its space a sector is unambiguous: "M1 1" is sector 1 of M1,
	// never district M11.
	if f := strings.Fields(trimmed); len(f) == 2 && len(f[1]) == 1 && f[1][0] >= '0' && f[1][0] <= '9' {
		if outwardRE.MatchString(f[0]) {
			return f[0] + " " + f[1], nil
		}
		return "", ErrBadPostcode
	}
	if outwardRE.MatchString(sq) {
		return sq + " ", nil
	}
	// A sector is an outward code and one digit; with the space it is
	// unambiguous, and without it the last digit is the sector.
	if n := len(sq); n >= 3 && sq[n-1] >= '0' && sq[n-1] <= '9' && outwardRE.MatchString(sq[:n-1]) {
		if strings.Contains(trimmed, " ") && trimmed != sq[:n-1]+" "+sq[n-1:] {
			return "", ErrBadPostcode
		}
		return sq[:n-1] + " " + sq[n-1:], nil
	}
	return "", ErrBadPostcode
}

// PostcodeSector returns the sector of a normalised postcode ("AB10 1AB"
// gives "AB10 1"): an area of a few thousand addresses, coarse enough to
// tell a volunteer roughly where without saying which house.
func PostcodeSector(pc string) string {
	n := len(pc)
	if n < 6 || pc[n-4] != ' ' || pc[n-3] < '0' || pc[n-3] > '9' {
		return ""
	}
	return pc[:len(pc)-2]
}
