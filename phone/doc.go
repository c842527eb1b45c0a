// Package phone is the one rule for what a phone number is and how it is
// stored: E.164, as Normalise gives it.
//
// It earns a package of its own because the server, the store and the
// command-line client must share the rule. The server stores what
// Normalise returns; the store keys its phone index (a person's requests,
// erasure, export, continuity, a volunteer's own request) by Today of a
// stored number, so that one number stored in two forms is one person;
// and the client checks a number at the prompt before sending it. A
// change to what Normalise returns for a number already stored splits a
// person between two keys: it needs a schema step in the store that
// rewrites the stored numbers to the new form (as schema 14 did for the
// trunk zero older versions kept after a country code, +3530871234567).
// It is pure Go, with no I/O.
package phone
