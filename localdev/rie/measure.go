package rie

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Measurement is what one cold start of a function under the emulator cost.
type Measurement struct {
	// ColdStart is from the first invocation, which makes the emulator
	// start the bootstrap process, to its response: process start, init
	// (opening the store) and the first request.
	ColdStart time.Duration
	// FromEmulatorStart adds the emulator's own start-up to ColdStart.
	FromEmulatorStart time.Duration
	// Warm is the median of the warm invocations after the first.
	Warm time.Duration
	// IdleRSS is the bootstrap's resident set size, in bytes, once idle
	// after the invocations.
	IdleRSS int64
	// Response is the first invocation's response payload.
	Response []byte
}

// Measure starts the emulator with cfg, invokes event once cold and warm
// more times, reads the bootstrap's idle RSS, and stops everything.
func Measure(ctx context.Context, cfg Config, event []byte, warm int) (Measurement, error) {
	var m Measurement
	e, err := Start(ctx, cfg)
	if err != nil {
		return m, err
	}
	defer e.Close()
	t0 := time.Now()
	m.Response, err = e.Invoke(ctx, event)
	if err != nil {
		return m, fmt.Errorf("%w\nlogs:\n%s", err, e.Logs())
	}
	m.ColdStart = time.Since(t0)
	m.FromEmulatorStart = time.Since(e.Started())
	var warms []time.Duration
	for range warm {
		t := time.Now()
		if _, err := e.Invoke(ctx, event); err != nil {
			return m, err
		}
		warms = append(warms, time.Since(t))
	}
	if len(warms) > 0 {
		sort.Slice(warms, func(i, j int) bool { return warms[i] < warms[j] })
		m.Warm = warms[len(warms)/2]
	}
	time.Sleep(200 * time.Millisecond) // let the runtime settle after the last response
	pid, err := e.BootstrapPID()
	if err != nil {
		return m, err
	}
	m.IdleRSS, err = RSS(pid)
	return m, err
}
