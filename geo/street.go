package geo

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Only the last word is expanded: "St Machar Drive" keeps its saint while
// "Union St" becomes "Union Street".
var streetSuffixes = map[string]string{
	"st": "Street", "rd": "Road", "ave": "Avenue", "av": "Avenue", "ln": "Lane",
	"dr": "Drive", "cres": "Crescent", "cr": "Crescent", "pl": "Place",
	"sq": "Square", "ter": "Terrace", "terr": "Terrace", "gdns": "Gardens",
	"ct": "Court", "cl": "Close", "gr": "Grove", "pk": "Park", "wy": "Way",
	"hts": "Heights", "brae": "Brae", "tce": "Terrace", "cresc": "Crescent", "gdn": "Gardens",
}

// NormaliseStreet tidies a street name for display and storage: spaces
// collapsed, a trailing abbreviation spelled out, and input typed all in
// lower or all in upper case title-cased. Mixed case is kept as typed
// ("McDonald Road").
func NormaliseStreet(s string) string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return ""
	}
	joined := strings.Join(words, " ")
	if joined == strings.ToLower(joined) || joined == strings.ToUpper(joined) {
		for i, w := range words {
			words[i] = titleWord(w)
		}
	}
	last := strings.ToLower(strings.TrimRight(words[len(words)-1], ".,;:"))
	if full, ok := streetSuffixes[last]; ok && len(words) > 1 {
		words[len(words)-1] = full
	}
	return strings.Join(words, " ")
}

func titleWord(w string) string {
	rs := []rune(strings.ToLower(w))
	start := true
	for i, r := range rs {
		if start && unicode.IsLetter(r) {
			rs[i] = unicode.ToUpper(r)
		}
		// After an apostrophe only a name starts ("O'Neill"), not the
		// possessive, however the word ends ("King's,").
		start = r == '-' || r == '\'' && lettersAt(rs[i+1:]) > 1
	}
	return string(rs)
}

// StreetKey is the form in which two street names compare equal when they
// name the same street: normalised, lower case, letters and digits only.
// "Union St." and "UNION STREET" share a key.
func StreetKey(s string) string {
	s = canonStreet(s)
	if k, ok := streetKeyASCII(s); ok {
		return k
	}
	return streetKeyOf(s)
}

// canonStreet folds what differs between two spellings of one street
// before its key is taken: a leading "Saint" as "St", accents dropped.
// It allocates only when it changes something: StreetKey is taken for
// every volunteer as the index is built.
func canonStreet(s string) string {
	s = foldAccents(s)
	t := strings.TrimLeft(s, " \t")
	if len(t) > len("saint ") && strings.EqualFold(t[:len("saint")], "saint") && (t[5] == ' ' || t[5] == '\t') {
		s = "St " + strings.TrimLeft(t[len("saint"):], " \t")
	}
	return s
}

func foldAccents(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	out, _, err := transform.String(transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC), s)
	if err != nil {
		return s
	}
	return out
}

// streetKeyOf is StreetKey by its definition.
func streetKeyOf(s string) string {
	n := NormaliseStreet(canonStreet(s))
	var b strings.Builder
	for _, r := range strings.ToLower(n) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// streetKeyASCII is StreetKey for a name in ASCII, as nearly all are, in
// one pass and one allocation: every search for a request with a street
// works its key out. Casing cannot change an ASCII letter's key, so only
// the expansion of the last word matters. It reports false for a name
// with any other byte.
func streetKeyASCII(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return "", false
		}
	}
	// The last word, as strings.Fields would split it.
	end := len(s)
	for end > 0 && asciiSpace(s[end-1]) {
		end--
	}
	start := end
	for start > 0 && !asciiSpace(s[start-1]) {
		start--
	}
	body, last := s[:start], s[start:end]
	var buf [64]byte
	b := appendKeyBytes(buf[:0], body)
	full, ok := "", false
	if strings.TrimSpace(body) != "" { // more than one word
		full, ok = streetSuffixes[strings.ToLower(strings.TrimRight(last, ".,;:"))]
	}
	if ok {
		b = appendKeyBytes(b, full)
	} else {
		b = appendKeyBytes(b, last)
	}
	return string(b), true
}

// appendKeyBytes appends the ASCII letters and digits of s, in lower case.
func appendKeyBytes(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			b = append(b, c)
		case 'A' <= c && c <= 'Z':
			b = append(b, c+'a'-'A')
		}
	}
	return b
}

// asciiSpace is unicode.IsSpace for an ASCII byte, as strings.Fields splits.
func asciiSpace(c byte) bool {
	return c == ' ' || '\t' <= c && c <= '\r'
}

// lettersAt counts the letters rs starts with.
func lettersAt(rs []rune) int {
	n := 0
	for n < len(rs) && unicode.IsLetter(rs[n]) {
		n++
	}
	return n
}
