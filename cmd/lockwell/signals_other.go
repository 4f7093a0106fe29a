//go:build !unix

package main

import (
	"os"
	"os/exec"
)

// forwardedSignals are the signals "lockwell run" passes on to its child;
// outside Unix only an interrupt can be.
var forwardedSignals = []os.Signal{os.Interrupt}

// watchSignals are the signals "lockwell watch --signal" may send.
var watchSignals = map[string]os.Signal{"INT": os.Interrupt}

// stopSignal is how "lockwell watch" asks a child to stop before a restart.
var stopSignal = os.Interrupt

// ownGroup does nothing outside Unix.
func ownGroup(*exec.Cmd) {}

// signalGroup signals the process itself outside Unix.
func signalGroup(p *os.Process, s os.Signal) error {
	if s == os.Kill {
		return p.Kill()
	}
	return p.Signal(s)
}
