//go:build lockwell_gcpsecretmanager

package backends

import _ "github.com/lockwell/lockwell/shared/valuestore/gcpsecretmanager" // gcpsecretmanager://
