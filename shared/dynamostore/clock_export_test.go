package dynamostore

import "time"

// SetClock makes b read the wall clock of claims and idempotency records
// (what OrphanGrace is measured on) from now, so that tests move time past
// the grace period instead of sleeping through it.
func SetClock(b *Backend, now func() time.Time) { b.now = now }
