// Package phone is the one rule for what a phone number is and how it is
// stored: E.164, as Normalise gives it.
//
// It earns a package of its own because the server, the store and the
// command-line client must share the rule: the server stores what
// Normalise returns, and the client checks a number at the prompt before
// sending it. A change to what Normalise returns for a number already
// stored makes one person two numbers. It is pure Go, with no I/O.
package phone
