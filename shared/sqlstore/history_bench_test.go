package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/sqlstore"
	"github.com/lockwell/lockwell/shared/store"
)

// BenchmarkHistoryCost measures what keeping history costs, through the
// portable store as the API uses it: get and update of secrets that have 20
// kept versions (the default retention) against secrets that keep none
// (LOCKWELL_KEEP_VERSIONS=1), on a store of 1,000 secrets. The target: get
// and update within 10% of the figures without history.
func BenchmarkHistoryCost(b *testing.B) {
	type target struct {
		name string
		open func(b *testing.B) *sqlstore.Store
	}
	targets := []target{{"sqlite", func(b *testing.B) *sqlstore.Store { s, _ := openSQLite(b); return s }}}
	if os.Getenv("LOCKWELL_TEST_POSTGRES_URL") != "" {
		targets = append(targets, target{"postgres", func(b *testing.B) *sqlstore.Store { s, _ := openPostgres(b, testSealer(b)); return s }})
	}
	alice := identity.Principal{Name: "alice", Role: identity.Member}
	values := map[string]string{"user": "service-account", "password": "correct horse battery staple", "url": "postgres://db.internal:5432/app"}
	for _, tg := range targets {
		for _, keep := range []int{1, store.DefaultKeepVersions} {
			b.Run(fmt.Sprintf("%s/keep%d", tg.name, keep), func(b *testing.B) {
				st := store.New(tg.open(b), store.WithKeepVersions(keep))
				ctx := context.Background()
				ids := make([]string, 1000)
				for i := range ids {
					s, err := st.Create(ctx, alice, store.CreateRequest{Name: fmt.Sprintf("seed-%04d", i), Values: values})
					require.NoError(b, err)
					ids[i] = s.ID
					// Fill the history to the retention (keep-1 past versions).
					for v := 1; v < store.DefaultKeepVersions; v++ {
						_, err := st.Update(ctx, alice, s.ID, store.UpdateRequest{Values: map[string]*string{"rev": ptr(fmt.Sprint(v))}})
						require.NoError(b, err)
					}
				}
				b.Run("Get", func(b *testing.B) {
					i := 0
					for b.Loop() {
						i++
						if _, err := st.Get(ctx, alice, ids[i%len(ids)]); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run("Update", func(b *testing.B) {
					i := 0
					for b.Loop() {
						i++
						rev := fmt.Sprint("b", i)
						if _, err := st.Update(ctx, alice, ids[i%len(ids)], store.UpdateRequest{Values: map[string]*string{"rev": &rev}}); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

func ptr(s string) *string { return &s }
