//go:build !race

package matcher

const diffRace = false
