package httpapi

import "time"

// SetTokenCacheClock makes c read the time from now, so that tests move
// time instead of sleeping past the TTL.
func SetTokenCacheClock(c *TokenCache, now func() time.Time) { c.now = now }
