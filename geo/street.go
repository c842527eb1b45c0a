package geo

import (
	"strings"
	"unicode"
)

// Only the last word is expanded: "St Machar Drive" keeps its saint while
// "Union St" becomes "Union Street".
var streetSuffixes = map[string]string{
	"st": "Street", "rd": "Road", "ave": "Avenue", "av": "Avenue", "ln": "Lane",
	"dr": "Drive", "cres": "Crescent", "cr": "Crescent", "pl": "Place",
	"sq": "Square", "ter": "Terrace", "terr": "Terrace", "gdns": "Gardens",
	"ct": "Court", "cl": "Close", "gr": "Grove", "pk": "Park", "wy": "Way",
	"hts": "Heights", "brae": "Brae",
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
	last := strings.ToLower(strings.TrimSuffix(words[len(words)-1], "."))
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
		start = r == '-' || r == '\''
	}
	return string(rs)
}

// StreetKey is the form in which two street names compare equal when they
// name the same street: normalised, lower case, letters and digits only.
// "Union St." and "UNION STREET" share a key.
func StreetKey(s string) string {
	n := NormaliseStreet(s)
	var b strings.Builder
	for _, r := range strings.ToLower(n) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
