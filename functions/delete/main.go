// Command delete is the Lambda bootstrap for the API's "delete" operation (see
// package lambdaserve). The backends it links are chosen by build tags
// (package functions/backends).
package main

import (
	_ "github.com/lockwell/lockwell/functions/backends"
	"github.com/lockwell/lockwell/functions/lambdaserve"
)

func main() { lambdaserve.Run("delete") }
