// Command dashboard is the Lambda bootstrap that serves the web dashboard
// (package shared/dashboard): its embedded assets, the session routes and
// GET /api/v1/whoami (see lambdaserve.DashboardHandler). The backends it
// links are chosen by build tags (package functions/backends); it opens the
// deployment only to check tokens in bearer mode.
package main

import (
	_ "github.com/lockwell/lockwell/functions/backends"
	"github.com/lockwell/lockwell/functions/lambdaserve"
)

func main() { lambdaserve.Run(lambdaserve.Dashboard) }
