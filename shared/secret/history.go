package secret

import "time"

// The operations that make a version, as Change.Operation names them.
const (
	OpCreate   = "create"
	OpUpdate   = "update"
	OpRollback = "rollback"
	OpDelete   = "delete"  // moved into the recovery window
	OpRestore  = "restore" // brought back from the recovery window
	OpMigrate  = "migrate"
)

// Change says how a version came about: who made it, with which operation,
// and which keys it added, removed or changed against the version before.
// Key names only, never values. Every version carries one; backends store it
// with the version and return it unchanged.
type Change struct {
	Operation string   `json:"operation"`
	Principal string   `json:"principal"`
	Added     []string `json:"added,omitempty"`
	Removed   []string `json:"removed,omitempty"`
	Changed   []string `json:"changed,omitempty"`
	// From is the version a rollback copied; 0 otherwise.
	From int64 `json:"from,omitempty"`
}

// Retention says which past versions of a secret a backend keeps: at most
// Versions versions in all (the current one counted), and none made before
// Since (zero: no age limit). The current version is always kept.
type Retention struct {
	Versions int
	Since    time.Time
}

// Keeps reports whether a past version v, made at made, is kept when the
// secret is at version current.
func (r Retention) Keeps(current, v int64, made time.Time) bool {
	if v == current {
		return true
	}
	if r.Versions < 1 || current-v >= int64(r.Versions) {
		return false
	}
	return r.Since.IsZero() || !made.Before(r.Since)
}

// Diff returns the key names added, removed and changed from old to new
// values, each sorted.
func Diff(old, new map[string]string) (added, removed, changed []string) {
	for k, v := range new {
		ov, ok := old[k]
		switch {
		case !ok:
			added = append(added, k)
		case ov != v:
			changed = append(changed, k)
		}
	}
	for k := range old {
		if _, ok := new[k]; !ok {
			removed = append(removed, k)
		}
	}
	sortAll(added, removed, changed)
	return added, removed, changed
}

func sortAll(lists ...[]string) {
	for _, l := range lists {
		sortStrings(l)
	}
}
