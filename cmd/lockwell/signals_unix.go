//go:build unix

package main

import (
	"os"
	"syscall"
)

// forwardedSignals are the signals "lockwell run" passes on to its child.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}
