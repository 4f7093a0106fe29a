//go:build unix

package main

import (
	"os"
	"syscall"
)

// forwardedSignals are the signals "lockwell run" passes on to its child.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// watchSignals are the signals "lockwell watch --signal" may send.
var watchSignals = map[string]os.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "QUIT": syscall.SIGQUIT,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
}

// stopSignal is how "lockwell watch" asks a child to stop before a restart.
var stopSignal os.Signal = syscall.SIGTERM
