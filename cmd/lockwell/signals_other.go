//go:build !unix

package main

import "os"

// forwardedSignals are the signals "lockwell run" passes on to its child;
// outside Unix only an interrupt can be.
var forwardedSignals = []os.Signal{os.Interrupt}
