package geo

import "testing"

// "St" before a name is Saint: people write "St Machar Drive", "St. Machar
// Drive" and "Saint Machar Drive" for one street. Their keys must agree,
// or the same-street bonus is lost and one caller's two requests count as
// two doors (store.samePlace, matcher.sameDoorGroups).
func TestStreetKeySaintSpelledOut(t *testing.T) {
	for _, pair := range [][2]string{
		{"St Machar Drive", "Saint Machar Drive"},
		{"St. Swithin Street", "Saint Swithin Street"},
		{"ST NICHOLAS ST", "saint nicholas street"},
	} {
		if a, b := StreetKey(pair[0]), StreetKey(pair[1]); a != b {
			t.Errorf("StreetKey(%q) = %q, StreetKey(%q) = %q: one street, two keys", pair[0], a, pair[1], b)
		}
	}
}

// A trailing comma (or other punctuation than a full stop) does not stop
// the abbreviation being spelled out: "Union St," is the same street as
// "Union St".
func TestStreetKeyTrailingPunctuation(t *testing.T) {
	for _, s := range []string{"Union St,", "Union St;", "union st,", "Union St.,"} {
		if got, want := StreetKey(s), StreetKey("Union Street"); got != want {
			t.Errorf("StreetKey(%q) = %q, want %q", s, got, want)
		}
	}
}

// "Tce" is how Terrace is written across Scotland (Union Tce, Albyn Tce,
// Bon Accord Tce in Aberdeen), "Cresc" and "Gdn" are common too; left
// unexpanded they key apart from the full name.
func TestStreetKeyCommonAbbreviations(t *testing.T) {
	for _, pair := range [][2]string{
		{"Union Tce", "Union Terrace"},
		{"Bon Accord Tce", "Bon Accord Terrace"},
		{"Kings Cresc", "King's Crescent"},
	} {
		if a, b := StreetKey(pair[0]), StreetKey(pair[1]); a != b {
			t.Errorf("StreetKey(%q) = %q, StreetKey(%q) = %q: one street, two keys", pair[0], a, pair[1], b)
		}
	}
}

// Welsh and Gaelic names are typed with and without their accents (most
// phones and PCs in the UK have no ŵ key): one street, one key.
func TestStreetKeyAccents(t *testing.T) {
	for _, pair := range [][2]string{
		{"Ffordd Glyndŵr", "Ffordd Glyndwr"},
		{"Heol y Dŵr", "Heol y Dwr"},
		{"Sràid na h-Eaglais", "Sraid na h-Eaglais"},
	} {
		if a, b := StreetKey(pair[0]), StreetKey(pair[1]); a != b {
			t.Errorf("StreetKey(%q) = %q, StreetKey(%q) = %q: one street, two keys", pair[0], a, pair[1], b)
		}
	}
}

// Title-casing all-lower or all-upper input capitalises a name after an
// apostrophe ("O'Neill") but not the possessive: "king's crescent" is
// stored and shown as "King's Crescent", never "King'S Crescent".
func TestStreetTitleCasePossessive(t *testing.T) {
	for in, want := range map[string]string{
		"king's crescent":   "King's Crescent",
		"ST ANDREW'S ST":    "St Andrew's Street",
		"o'neill-smith ave": "O'Neill-Smith Avenue", // unchanged
		"queen's cross":     "Queen's Cross",
	} {
		if got := NormaliseStreet(in); got != want {
			t.Errorf("NormaliseStreet(%q) = %q, want %q", in, got, want)
		}
	}
}
