// Command lambdarun runs Lockwell's Lambda bootstraps locally under the AWS
// Lambda Runtime Interface Emulator (package localdev/rie), against a SQLite
// store, without Docker. functions/functions.mk drives it:
//
//	lambdarun invoke -bootstrap B -event E [-id ID] [-data-dir D]
//	    print the function's response to one event (make invoke)
//	lambdarun bench -aws DIR -local DIR [-aws-host DIR] [-runs N] [-check]
//	    per function: the AWS bootstrap's size, and the cold start, warm
//	    latency and idle RSS under the emulator of the SQLite bootstrap and,
//	    with -aws-host, of the AWS bootstrap against dynalite and the local
//	    KMS (make bench-lambda)
//
// The store is LOCKWELL_STORE and LOCKWELL_KEY when set, else a SQLite file
// and a key file in the data directory. The emulator is found or installed
// in localdev/rie/bin.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "github.com/lockwell/lockwell/functions/backends" // dynamodb://, awskms:// for the bench's table
	"github.com/lockwell/lockwell/localdev/dynalite"
	"github.com/lockwell/lockwell/localdev/kms"
	"github.com/lockwell/lockwell/localdev/rie"
	"github.com/lockwell/lockwell/shared/config"
)

// placeholderID is the id the sample events use for {id}.
const placeholderID = "00000000-0000-7000-8000-000000000000"

// The targets issue 3 sets for every bootstrap.
const (
	maxSize      = 15 << 20
	maxColdStart = 100 * time.Millisecond
	maxIdleRSS   = 40 << 20
)

var functions = []string{"create", "get", "list", "update", "delete"}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "invoke":
		err = invoke(os.Args[2:])
	case "bench":
		err = bench(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lambdarun:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: lambdarun invoke -bootstrap B -event E [-id ID] [-data-dir D]\n       lambdarun bench -aws DIR -local DIR [-aws-host DIR] [-runs N] [-check]")
	os.Exit(2)
}

func emulator(ctx context.Context) (string, error) {
	if p, err := rie.Find("localdev/rie/bin"); err == nil {
		return p, nil
	}
	fmt.Fprintln(os.Stderr, "installing", rie.Package, "into localdev/rie/bin")
	return rie.Install(ctx, "localdev/rie/bin")
}

// storeEnv returns the function's store configuration: the caller's
// LOCKWELL_STORE and LOCKWELL_KEY, else files in dataDir.
func storeEnv(dataDir string) ([]string, error) {
	if os.Getenv("LOCKWELL_STORE") != "" {
		return nil, nil
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, err
	}
	return []string{
		"LOCKWELL_STORE=sqlite://" + filepath.Join(abs, "lockwell.db"),
		"LOCKWELL_KEY=localkey://" + filepath.Join(abs, "store.key"),
	}, nil
}

func invoke(args []string) error {
	fs := flag.NewFlagSet("invoke", flag.ExitOnError)
	bootstrap := fs.String("bootstrap", "", "the function's bootstrap")
	eventFile := fs.String("event", "", "event JSON file")
	id := fs.String("id", "", "secret id to put in place of "+placeholderID)
	dataDir := fs.String("data-dir", ".lockwell/lambda", "where the SQLite store lives")
	_ = fs.Parse(args)
	if *bootstrap == "" || *eventFile == "" {
		usage()
	}
	event, err := os.ReadFile(*eventFile)
	if err != nil {
		return err
	}
	if *id != "" {
		event = bytes.ReplaceAll(event, []byte(placeholderID), []byte(*id))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path, err := emulator(ctx)
	if err != nil {
		return err
	}
	env, err := storeEnv(*dataDir)
	if err != nil {
		return err
	}
	e, err := rie.Start(ctx, rie.Config{RIE: path, Bootstrap: *bootstrap, Env: env, Name: filepath.Base(filepath.Dir(*bootstrap))})
	if err != nil {
		return err
	}
	defer e.Close()
	out, err := e.Invoke(ctx, event)
	if err != nil {
		fmt.Fprint(os.Stderr, e.Logs())
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(out)
	}
	fmt.Println(pretty.String())
	return nil
}

func bench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	awsDir := fs.String("aws", "build/lambda/aws", "the deployed AWS bootstraps (<op>/bootstrap, arm64): their size is what the targets are about")
	awsHostDir := fs.String("aws-host", "", "the same AWS bootstraps built for this machine: run under the emulator against dynalite and the local KMS")
	localDir := fs.String("local", "build/lambda/local", "the SQLite bootstraps built for this machine: run under the emulator")
	runs := fs.Int("runs", 5, "cold starts per function and store (the median is reported)")
	check := fs.Bool("check", false, "exit with status 1 when a target is missed")
	_ = fs.Parse(args)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	path, err := emulator(ctx)
	if err != nil {
		return err
	}
	dataDir, err := os.MkdirTemp("", "lockwell-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	sqliteEnv, err := storeEnv(dataDir)
	if err != nil {
		return err
	}
	type setup struct {
		name string
		dir  string
		env  []string
	}
	setups := []setup{{"sqlite", *localDir, append(sqliteEnv, "LOCKWELL_AUTH=platform", "LOCKWELL_VALUES=")}}
	if *awsHostDir != "" {
		env, stop, err := awsStack(ctx)
		if err != nil {
			return fmt.Errorf("start dynalite and the local KMS: %w", err)
		}
		defer stop()
		setups = append(setups, setup{"dynamodb+kms", *awsHostDir, env})
	}

	fmt.Printf("Lambda bootstraps: targets size <= 15 MiB, cold start <= 100 ms, idle RSS <= 40 MiB\n\n")
	fmt.Printf("%-8s %16s %16s\n", "function", "size (AWS, arm64)", "size (SQLite)")
	missed := false
	for _, fn := range functions {
		awsSize, err := fileSize(filepath.Join(*awsDir, fn, "bootstrap"))
		if err != nil {
			return err
		}
		localSize, err := fileSize(filepath.Join(*localDir, fn, "bootstrap"))
		if err != nil {
			return err
		}
		verdict := "met"
		if awsSize > maxSize {
			verdict, missed = "MISSED", true
		}
		fmt.Printf("%-8s %12.2f MiB %12.2f MiB  %s\n", fn, mib(awsSize), mib(localSize), verdict)
	}
	fmt.Printf("\ncold start: the first invocation under the emulator, from starting the bootstrap process to its response\n")
	fmt.Printf("(opening the store included); +emulator adds the emulator's own start. Median of %d; warm: median of 5.\n\n", *runs)
	fmt.Printf("%-8s %-13s %11s %11s %10s %10s  %s\n", "function", "store", "cold start", "+emulator", "warm", "idle RSS", "targets")
	for _, st := range setups {
		// A warm create function makes the secrets that get, update and
		// delete work on, so that they measure their real path (a KMS
		// Decrypt on a cold data-key cache included), not a 404.
		creator, err := rie.Start(ctx, rie.Config{RIE: path, Bootstrap: filepath.Join(st.dir, "create", "bootstrap"), Env: st.env, Name: "create"})
		if err != nil {
			return err
		}
		createEvent, err := os.ReadFile(filepath.Join("localdev", "events", "create.json"))
		if err != nil {
			return err
		}
		n := 0
		newSecret := func() (string, error) {
			n++
			ev := bytes.ReplaceAll(createEvent, []byte("db-credentials"), fmt.Appendf(nil, "bench-target-%d-%d", time.Now().UnixNano(), n))
			ev = bytes.ReplaceAll(ev, []byte("sample-create-1"), fmt.Appendf(nil, "bench-%d-%d", time.Now().UnixNano(), n))
			out, err := creator.Invoke(ctx, ev)
			if err != nil {
				return "", err
			}
			var resp struct {
				StatusCode int    `json:"statusCode"`
				Body       string `json:"body"`
			}
			var sec struct{ ID string }
			if json.Unmarshal(out, &resp) != nil || resp.StatusCode != 201 || json.Unmarshal([]byte(resp.Body), &sec) != nil {
				return "", fmt.Errorf("creating a secret to measure on failed: %s", out)
			}
			return sec.ID, nil
		}
		for _, fn := range functions {
			event, err := os.ReadFile(filepath.Join("localdev", "events", fn+".json"))
			if err != nil {
				return err
			}
			event = bytes.ReplaceAll(event, []byte(`"if-match": "\"1\"",`), nil) // every warm update is a new version
			var ms []rie.Measurement
			for i := range *runs {
				ev := bytes.ReplaceAll(event, []byte("db-credentials"), fmt.Appendf(nil, "bench-%d-%d", time.Now().UnixNano(), i))
				ev = bytes.ReplaceAll(ev, []byte("sample-create-1"), fmt.Appendf(nil, "bench-key-%d-%d", time.Now().UnixNano(), i))
				if bytes.Contains(ev, []byte(placeholderID)) {
					id, err := newSecret()
					if err != nil {
						creator.Close()
						return err
					}
					ev = bytes.ReplaceAll(ev, []byte(placeholderID), []byte(id))
				}
				m, err := rie.Measure(ctx, rie.Config{RIE: path, Bootstrap: filepath.Join(st.dir, fn, "bootstrap"), Env: st.env, Name: fn}, ev, 5)
				if err != nil {
					return fmt.Errorf("%s on %s: %w", fn, st.name, err)
				}
				if err := checkResponse(m.Response); err != nil {
					return fmt.Errorf("%s on %s: %w", fn, st.name, err)
				}
				ms = append(ms, m)
			}
			sort.Slice(ms, func(i, j int) bool { return ms[i].ColdStart < ms[j].ColdStart })
			med := ms[len(ms)/2]
			var miss []string
			if med.ColdStart > maxColdStart {
				miss = append(miss, "cold start")
			}
			if med.IdleRSS > maxIdleRSS {
				miss = append(miss, "RSS")
			}
			verdict := "met"
			if len(miss) > 0 {
				verdict = "MISSED: " + strings.Join(miss, ", ")
				missed = true
			}
			fmt.Printf("%-8s %-13s %8.1f ms %8.1f ms %7.2f ms %6.1f MiB  %s  (HTTP %d)\n", fn, st.name,
				ms2(med.ColdStart), ms2(med.FromEmulatorStart), ms2(med.Warm), mib(med.IdleRSS), verdict, statusOf(med.Response))
		}
		creator.Close()
	}
	if missed && *check {
		os.Exit(1)
	}
	return nil
}

// awsStack starts dynalite and the local KMS, creates the table and a key,
// and returns the environment that points the AWS bootstraps at them.
func awsStack(ctx context.Context) (env []string, stop func(), err error) {
	dyn, err := dynalite.Start(ctx, dynalite.Options{})
	if err != nil {
		return nil, nil, err
	}
	keys, err := kms.Start()
	if err != nil {
		_ = dyn.Stop()
		return nil, nil, err
	}
	stop = func() { _ = keys.Close(); _ = dyn.Stop() }
	keyID, err := keys.CreateKey("lockwell bench", "")
	if err != nil {
		stop()
		return nil, nil, err
	}
	env = []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + dyn.Endpoint(), "AWS_ENDPOINT_URL_KMS=" + keys.URL(),
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDLOCAL", "AWS_SECRET_ACCESS_KEY=secretlocal", "AWS_SESSION_TOKEN=",
		"AWS_EC2_METADATA_DISABLED=true",
		"LOCKWELL_STORE=dynamodb://lockwell-bench", "LOCKWELL_KEY=awskms://" + keyID,
		"LOCKWELL_VALUES=", "LOCKWELL_AUTH=platform",
	}
	// Create the table as the template does before the functions run.
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	cfg, err := config.FromEnv()
	if err == nil {
		cfg.StoreURL += "?create_table=true"
		var d *config.Deployment
		if d, err = cfg.Open(ctx, nil); err == nil {
			err = d.Close()
		}
	}
	if err != nil {
		stop()
		return nil, nil, err
	}
	return env, stop, nil
}

// checkResponse fails on a function error or a 5xx: a benchmark of a broken
// function measures nothing.
func checkResponse(b []byte) error {
	var r struct {
		StatusCode   int    `json:"statusCode"`
		ErrorMessage string `json:"errorMessage"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.ErrorMessage != "" || r.StatusCode == 0 || r.StatusCode >= 500 {
		return fmt.Errorf("the function did not answer properly: %s", b)
	}
	return nil
}

func statusOf(b []byte) int {
	var r struct {
		StatusCode int `json:"statusCode"`
	}
	_ = json.Unmarshal(b, &r)
	return r.StatusCode
}

func fileSize(p string) (int64, error) {
	st, err := os.Stat(p)
	if err != nil {
		return 0, fmt.Errorf("%w (build it first: make build-lambda / make bench-lambda)", err)
	}
	return st.Size(), nil
}

func mib(n int64) float64         { return float64(n) / (1 << 20) }
func ms2(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
