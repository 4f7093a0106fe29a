package sqlstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/sqlstore"
)

// durabilityChildEnv, when set to a store URL, turns this test binary into
// the writer that TestAcknowledgedWritesSurviveKill kills.
const durabilityChildEnv = "LOCKWELL_SQLSTORE_DURABILITY_CHILD"

// durabilityKeyEnv names the store key file the child and parent share.
const durabilityKeyEnv = "LOCKWELL_SQLSTORE_DURABILITY_KEY"

// runDurabilityChild creates secrets until it is killed, printing "ack ID"
// after each Create returns: the acknowledgement a client would get.
func runDurabilityChild() {
	ctx := context.Background()
	w, err := envelope.OpenWrapper(ctx, "localkey://"+os.Getenv(durabilityKeyEnv))
	if err != nil {
		fmt.Println("error: open key:", err)
		os.Exit(2)
	}
	s, err := sqlstore.Open(ctx, os.Getenv(durabilityChildEnv), backend.Options{Sealer: envelope.NewSealer(w)})
	if err != nil {
		fmt.Println("error: open store:", err)
		os.Exit(2)
	}
	// Writers run concurrently, so SQLite's group commit puts many of them
	// in one transaction: each is acknowledged only after its group's commit.
	for w := range durabilityWriters {
		go func() {
			for i := 0; ; i++ {
				sec := backendtest.New(fmt.Sprintf("durable-%02d-%06d", w, i), "alice", false, map[string]string{"n": fmt.Sprint(i)})
				if err := s.Create(ctx, sec); err != nil {
					fmt.Println("error: create:", err)
					os.Exit(2)
				}
				fmt.Println("ack", sec.ID) // one write per line; os.Stdout is unbuffered
				// A kept update: the copy of version 1 and version 2 commit
				// together or not at all.
				next := backendtest.WithHistory(sec, &secret.Retention{Versions: 5}, secret.OpUpdate,
					func(x *secret.Secret) { x.Values["n"] = fmt.Sprint("updated-", i) })
				if err := s.Update(ctx, next, 1); err != nil {
					fmt.Println("error: update:", err)
					os.Exit(2)
				}
				fmt.Println("kept", sec.ID)
			}
		}()
	}
	select {}
}

// durabilityWriters is how many goroutines of the child write at once.
const durabilityWriters = 16

// TestAcknowledgedWritesSurviveKill runs a child process that writes to the
// store, SIGKILLs it mid-stream, and checks that every secret whose create
// had returned is in the database, every update that had returned kept its
// version, and no secret is at version 2 without its past version 1.
func TestAcknowledgedWritesSurviveKill(t *testing.T) {
	if os.Getenv(durabilityChildEnv) != "" {
		runDurabilityChild()
		return
	}
	for _, sync := range []string{"full", "normal"} {
		t.Run("synchronous="+sync, func(t *testing.T) {
			dir := t.TempDir()
			keyPath := filepath.Join(dir, "store.key")
			storeURL := "sqlite://" + filepath.Join(dir, "lockwell.db") + "?synchronous=" + sync

			cmd := exec.Command(os.Args[0], "-test.run=^TestAcknowledgedWritesSurviveKill$")
			cmd.Env = append(os.Environ(), durabilityChildEnv+"="+storeURL, durabilityKeyEnv+"="+keyPath)
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			cmd.Stderr = os.Stderr
			require.NoError(t, cmd.Start())

			var acked []string
			kept := map[string]bool{}
			read := func(line string) {
				if id, ok := strings.CutPrefix(line, "ack "); ok {
					acked = append(acked, id)
				}
				if id, ok := strings.CutPrefix(line, "kept "); ok {
					kept[id] = true
				}
			}
			lines := bufio.NewScanner(out)
			deadline := time.Now().Add(20 * time.Second)
			for len(acked) < 2000 && time.Now().Before(deadline) && lines.Scan() {
				line := lines.Text()
				require.False(t, strings.HasPrefix(line, "error:"), "child failed: %s", line)
				read(line)
			}
			// Kill mid-write: the child is creating or updating a secret now.
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			for lines.Scan() { // acknowledgements printed before the kill landed count too
				read(lines.Text())
			}
			_ = cmd.Wait()
			require.NotEmpty(t, acked, "the child acknowledged no writes")

			w, err := envelope.OpenWrapper(context.Background(), "localkey://"+keyPath)
			require.NoError(t, err)
			s, err := sqlstore.Open(context.Background(), storeURL, backend.Options{Sealer: envelope.NewSealer(w)})
			require.NoError(t, err)
			defer s.Close()
			missing, lost, torn := 0, 0, 0
			for _, id := range acked {
				got, err := s.Get(context.Background(), id)
				if err != nil {
					missing++
					continue
				}
				if kept[id] && got.Version != 2 {
					lost++
				}
				if got.Version == 2 {
					if _, err := s.GetVersion(context.Background(), id, 1); err != nil {
						torn++
					}
				}
			}
			assert.Zero(t, missing, "%d of %d acknowledged secrets are gone after kill -9", missing, len(acked))
			assert.Zero(t, lost, "%d of %d acknowledged updates are gone after kill -9", lost, len(kept))
			assert.Zero(t, torn, "%d secrets are at version 2 without their kept version 1", torn)
			t.Logf("%d acknowledged creates and %d kept updates, all found after kill -9", len(acked), len(kept))
		})
	}
}
