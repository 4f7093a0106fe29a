// Command purge is the Lambda bootstrap that destroys deleted secrets whose
// recovery window has ended (LOCKWELL_RECOVERY_DAYS), run on a schedule by
// EventBridge Scheduler (PurgeExpiredFunction in template.yaml). The store
// also purges after deletes and `lockwell admin purge` does it by hand; the
// schedule makes sure it happens on a deployment nobody writes to.
package main

import (
	_ "github.com/lockwell/lockwell/functions/backends"
	"github.com/lockwell/lockwell/functions/lambdaserve"
)

func main() { lambdaserve.RunPurge() }
