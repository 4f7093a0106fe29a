//go:build lockwell_sql

package backends

import _ "github.com/lockwell/lockwell/shared/sqlstore" // sqlite://, postgres://, mysql://
