//go:build unix

package main

import (
	"os"
	"os/exec"
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

// ownGroup makes child the leader of a process group of its own, so that
// "lockwell watch" can stop everything it started (a shell and what the
// shell runs), not only the direct child.
func ownGroup(child *exec.Cmd) { child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// signalGroup sends s to the process group p leads (see ownGroup).
func signalGroup(p *os.Process, s os.Signal) error {
	sig, ok := s.(syscall.Signal)
	if !ok {
		return p.Signal(s)
	}
	return syscall.Kill(-p.Pid, sig)
}
