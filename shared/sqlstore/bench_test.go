package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/sqlstore"
)

// BenchmarkListPage measures one 50-item keyset page from the middle of a
// listing sorted by name, with 1,000 and with 100,000 secrets stored. The
// target: the 100k page at most 1.5 times as slow as the 1k page.
func BenchmarkListPage(b *testing.B) {
	type target struct {
		name string
		open func(b *testing.B) *sqlstore.Store
	}
	targets := []target{{"sqlite", func(b *testing.B) *sqlstore.Store { s, _ := openSQLite(b); return s }}}
	if os.Getenv("LOCKWELL_TEST_POSTGRES_URL") != "" {
		targets = append(targets, target{"postgres", func(b *testing.B) *sqlstore.Store { s, _ := openPostgres(b, testSealer(b)); return s }})
	}
	if os.Getenv("LOCKWELL_TEST_MYSQL_URL") != "" {
		targets = append(targets, target{"mysql", func(b *testing.B) *sqlstore.Store { s, _ := openMySQL(b, testSealer(b)); return s }})
	}
	for _, tg := range targets {
		for _, size := range []struct {
			name string
			n    int
		}{{"1k", 1000}, {"100k", 100_000}} {
			b.Run(tg.name+"/"+size.name, func(b *testing.B) {
				s := tg.open(b)
				start := time.Now()
				bulkLoad(b, s, size.n)
				b.Logf("loaded %d secrets in %v", size.n, time.Since(start).Round(time.Millisecond))
				srt := backend.Sort{Field: backend.ByName}
				q := backend.Query{Viewer: "user3", Sort: srt, Limit: 50, After: middleCursor(b, s, "user3", srt, size.n)}
				ctx := context.Background()
				b.ResetTimer()
				for b.Loop() {
					page, err := s.List(ctx, q)
					if err != nil || len(page) != 50 {
						b.Fatalf("page of %d: %v", len(page), err)
					}
				}
			})
		}
	}
}

// BenchmarkOperations measures Create, Get (which opens sealed values),
// Update without history and keeping 20 versions (UpdateKeep20: copy the
// replaced row, prune the 21st), GetVersion of a past version and a first
// List page on a store holding 1,000 secrets.
func BenchmarkOperations(b *testing.B) {
	type target struct {
		name string
		open func(b *testing.B) *sqlstore.Store
	}
	targets := []target{
		{"sqlite", func(b *testing.B) *sqlstore.Store { s, _ := openSQLite(b); return s }},
		{"sqlite-sync-normal", func(b *testing.B) *sqlstore.Store {
			path := filepath.Join(b.TempDir(), "lockwell.db")
			s, err := sqlstore.Open(context.Background(), "sqlite://"+path+"?synchronous=normal", backend.Options{Sealer: testSealer(b)})
			require.NoError(b, err)
			b.Cleanup(func() { s.Close() })
			return s
		}},
	}
	if os.Getenv("LOCKWELL_TEST_POSTGRES_URL") != "" {
		targets = append(targets, target{"postgres", func(b *testing.B) *sqlstore.Store { s, _ := openPostgres(b, testSealer(b)); return s }})
	}
	if os.Getenv("LOCKWELL_TEST_MYSQL_URL") != "" {
		targets = append(targets, target{"mysql", func(b *testing.B) *sqlstore.Store { s, _ := openMySQL(b, testSealer(b)); return s }})
	}
	values := map[string]string{"user": "service-account", "password": "correct horse battery staple", "url": "postgres://db.internal:5432/app"}
	for _, tg := range targets {
		b.Run(tg.name, func(b *testing.B) {
			s := tg.open(b)
			ctx := context.Background()
			var ids []*secret.Secret
			for i := range 1000 {
				sec := backendtest.New(fmt.Sprintf("seed-%04d", i), "alice", i%10 == 0, values)
				require.NoError(b, s.Create(ctx, sec))
				ids = append(ids, sec)
			}
			b.Run("Create", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					if err := s.Create(ctx, backendtest.New(fmt.Sprintf("bench-%s-%08d", b.Name(), i), "alice", false, values)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Get", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					if _, err := s.Get(ctx, ids[i%len(ids)].ID); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("GetParallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						i++
						if _, err := s.Get(ctx, ids[i%len(ids)].ID); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
			b.Run("Update", func(b *testing.B) {
				cur := ids[1]
				for b.Loop() {
					next := backendtest.Next(cur, nil)
					if err := s.Update(ctx, next, cur.Version); err != nil {
						b.Fatal(err)
					}
					cur = next
				}
			})
			kept := ids[2]
			b.Run("UpdateKeep20", func(b *testing.B) {
				for b.Loop() {
					next := backendtest.Next(kept, func(x *secret.Secret) { x.Keep = &secret.Retention{Versions: 20} })
					if err := s.Update(ctx, next, kept.Version); err != nil {
						b.Fatal(err)
					}
					kept = next
				}
			})
			b.Run("GetVersion", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.GetVersion(ctx, kept.ID, kept.Version-1); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("ListFirstPage", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.List(ctx, backend.Query{Viewer: "alice", Limit: 50}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkConcurrentWrites measures creates and updates from 16 concurrent
// writers on SQLite with synchronous=full, with group commit (several
// writers share one transaction and one fsync) and without (one fsync per
// write). Report ops/s: b.N writes over the elapsed time.
func BenchmarkConcurrentWrites(b *testing.B) {
	for _, grouped := range []bool{false, true} {
		name := "one-commit-per-write"
		if grouped {
			name = "group-commit"
		}
		for _, op := range []string{"create", "update"} {
			b.Run(name+"/"+op, func(b *testing.B) {
				sqlstore.SetGroupCommit(grouped)
				defer sqlstore.SetGroupCommit(true)
				s, _ := openSQLite(b)
				ctx := context.Background()
				const writers = 16
				// Each writer updates its own secret, so no update loses a race.
				own := make([]*secret.Secret, writers)
				for w := range own {
					own[w] = backendtest.New(fmt.Sprintf("own-%02d", w), "alice", false, map[string]string{"k": "v"})
					require.NoError(b, s.Create(ctx, own[w]))
				}
				b.SetParallelism(writers / max(1, runtime.GOMAXPROCS(0)))
				var next atomic.Int64
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					w := int(next.Add(1)-1) % writers
					cur := own[w].Clone()
					for i := 0; pb.Next(); i++ {
						var err error
						if op == "create" {
							err = s.Create(ctx, backendtest.New(fmt.Sprintf("w%02d-%d-%d", w, i, time.Now().UnixNano()), "alice", false, map[string]string{"k": "v"}))
						} else {
							n := backendtest.Next(cur, func(x *secret.Secret) { x.Values = map[string]string{"k": fmt.Sprint(i)} })
							if err = s.Update(ctx, n, cur.Version); err == nil {
								cur = n
							}
						}
						if err != nil {
							b.Errorf("%s: %v", op, err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
			})
		}
	}
}
