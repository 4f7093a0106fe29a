//go:build lockwell_hashivault

package backends

import _ "github.com/lockwell/lockwell/shared/valuestore/hashivault" // hashivault://
