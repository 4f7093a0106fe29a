//go:build lockwell_sql

package main

import _ "github.com/lockwell/lockwell/migrate/sqljobs" // sqlite://, postgres://, mysql://
