//go:build !linux

package server_test

import "errors"

// evictFromPageCache is Linux's alone (posix_fadvise and mincore).
func evictFromPageCache(string) (float64, error) {
	return 1, errors.New("no way to drop a file from the page cache here")
}
