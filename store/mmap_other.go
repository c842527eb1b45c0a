//go:build !linux

package store

// populateFlags is zero where the kernel has no MAP_POPULATE.
const populateFlags = 0
