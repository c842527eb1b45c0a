//go:build race

package matcher

// diffRace is whether the race detector is on: it makes the
// differential test several times slower, and it then runs fewer rounds.
const diffRace = true
