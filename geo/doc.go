// Package geo knows UK postcodes, street names and distances on the ground.
//
// It earns a package of its own because three parts need the same answers:
// the server normalises and checks what callers send, the matcher compares
// streets and measures distances, and the command-line client checks a
// postcode at the prompt before anything reaches the network. It is pure
// Go with no I/O beyond the io.Reader it is handed.
package geo
