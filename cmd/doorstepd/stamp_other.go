//go:build !linux

package main

import "os"

// inodeStamp is nothing here: the file's time, size and mode tell its
// versions apart.
func inodeStamp(os.FileInfo) [2]int64 { return [2]int64{} }
