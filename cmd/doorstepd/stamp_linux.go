package main

import (
	"os"
	"syscall"
)

// inodeStamp is a file's inode and change time: a chmod or chown (a
// renewal hook handing the new key to the server's user) moves the change
// time and nothing else, and a swap to another file moves the inode even
// when that file's time and size are the old one's.
func inodeStamp(fi os.FileInfo) [2]int64 {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return [2]int64{}
	}
	return [2]int64{int64(st.Ino), st.Ctim.Nano()}
}
