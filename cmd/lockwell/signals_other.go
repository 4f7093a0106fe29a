//go:build !unix

package main

import "os"

// forwardedSignals are the signals "lockwell run" passes on to its child;
// outside Unix only an interrupt can be.
var forwardedSignals = []os.Signal{os.Interrupt}

// watchSignals are the signals "lockwell watch --signal" may send.
var watchSignals = map[string]os.Signal{"INT": os.Interrupt}

// stopSignal is how "lockwell watch" asks a child to stop before a restart.
var stopSignal = os.Interrupt
