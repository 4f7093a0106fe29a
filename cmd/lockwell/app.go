package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
)

// app is what every command shares: standard streams, the environment, and
// the connection settings. Tests build one with their own streams and
// environment; command groups added by other packages get it through the
// functions that build them.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// readSecret reads one line without echo, after writing prompt to
	// stderr. It fails when standard input is not a terminal.
	readSecret func(prompt string) (string, error)
	stdinLines *bufio.Reader // standard input read line by line, created on first use
	loggingIn  bool          // login runs: a missing profile is the one it creates
	// isTerminal reports whether standard input is a terminal (for prompts
	// and confirmations).
	isTerminal func() bool

	// Global flags.
	flagURL, flagTokenFile, flagAuth, flagRegion, flagAudience, flagConfig, flagProfile string
	flagTimeout                                                                         time.Duration
}

func newApp() *app {
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	fd := int(os.Stdin.Fd())
	a.isTerminal = func() bool { return term.IsTerminal(fd) }
	a.readSecret = func(prompt string) (string, error) {
		if !term.IsTerminal(fd) {
			return "", errcode.New(errcode.InvalidArgument, "cannot prompt: standard input is not a terminal")
		}
		fmt.Fprint(a.stderr, prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", errcode.Wrap(errcode.InvalidArgument, err, "cannot read from the terminal")
		}
		return string(b), nil
	}
	return a
}

func (a *app) bindGlobalFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&a.flagURL, "url", "", "server URL (default: $LOCKWELL_URL, then the login configuration)")
	f.StringVar(&a.flagTokenFile, "token-file", "", "read the API token from this file (without it: the token itself in $LOCKWELL_TOKEN, then the login configuration)")
	f.StringVar(&a.flagAuth, "auth", "", "how to authenticate: token, aws-sigv4 or google-idtoken (default: $LOCKWELL_AUTH, the login configuration, then token)")
	f.StringVar(&a.flagRegion, "aws-region", "", "AWS region to sign for with --auth aws-sigv4 (default: $AWS_REGION)")
	f.StringVar(&a.flagAudience, "audience", "", "audience of Google ID tokens with --auth google-idtoken (default: the server URL)")
	f.StringVar(&a.flagConfig, "config", "", "configuration file (default: $LOCKWELL_CONFIG, then <user config dir>/lockwell/config.json)")
	f.StringVar(&a.flagProfile, "profile", "", "the saved login to use, as named by lockwell login --profile (default: $LOCKWELL_PROFILE, then \"default\")")
	f.DurationVar(&a.flagTimeout, "timeout", 30*time.Second, "give up on the server after this long")
}

// profile is one saved login: a server and how to authenticate to it.
type profile struct {
	URL       string `json:"url"`
	Auth      string `json:"auth,omitempty"`
	Token     string `json:"token,omitempty"`
	AWSRegion string `json:"aws_region,omitempty"`
	Audience  string `json:"audience,omitempty"`
}

// config is the file "lockwell login" writes. It holds tokens, so it is
// written with mode 0600 in a directory with mode 0700. The profile named
// "default" is kept at the top level (the file's layout before profiles
// existed), the others under "profiles".
type config struct {
	profile
	Profiles map[string]profile `json:"profiles,omitempty"`
}

// defaultProfile is the profile used when neither --profile nor
// LOCKWELL_PROFILE names one.
const defaultProfile = "default"

// profileName is the profile the command uses, and whether it was named
// explicitly.
func (a *app) profileName() (string, bool) {
	if a.flagProfile != "" {
		return a.flagProfile, true
	}
	if p := a.getenv("LOCKWELL_PROFILE"); p != "" {
		return p, true
	}
	return defaultProfile, false
}

// validateProfileName accepts the names a profile may have: 1-64 letters,
// digits and "_ . -".
func validateProfileName(name string) error {
	if name == "" || len(name) > 64 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != "" {
		return errcode.New(errcode.InvalidArgument, "a profile name is 1-64 letters, digits, _, . and -, got %q", shortArg(name))
	}
	return nil
}

// get returns the named profile and whether the file has it.
func (c config) get(name string) (profile, bool) {
	if name == defaultProfile {
		return c.profile, c.profile != (profile{})
	}
	p, ok := c.Profiles[name]
	return p, ok
}

// set stores p under name.
func (c *config) set(name string, p profile) {
	if name == defaultProfile {
		c.profile = p
		return
	}
	if c.Profiles == nil {
		c.Profiles = map[string]profile{}
	}
	c.Profiles[name] = p
}

// names lists the saved profiles, default first.
func (c config) names() []string {
	var out []string
	if c.profile != (profile{}) {
		out = append(out, defaultProfile)
	}
	var rest []string
	for n := range c.Profiles {
		rest = append(rest, n)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func (a *app) configPath() (string, error) {
	if a.flagConfig != "" {
		return a.flagConfig, nil
	}
	if p := a.getenv("LOCKWELL_CONFIG"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", errcode.Wrap(errcode.InvalidArgument, err, "cannot find the user configuration directory (set LOCKWELL_CONFIG): %v", err)
	}
	return filepath.Join(dir, "lockwell", "config.json"), nil
}

// loadConfig reads the configuration file; a missing file is an empty
// configuration. A file that others may read is used with a warning.
func (a *app) loadConfig() (config, error) {
	var c config
	path, err := a.configPath()
	if err != nil {
		return c, err
	}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return c, nil
	}
	if err != nil {
		return c, errcode.Wrap(errcode.InvalidArgument, err, "cannot read the configuration: %v", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(a.stderr, "lockwell: warning: %s holds a token and is readable by others; run chmod 600 %s\n", path, path)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, errcode.New(errcode.InvalidArgument, "the configuration %s is not valid JSON; run lockwell login again", path)
	}
	return c, nil
}

func (a *app) saveConfig(c config) (string, error) {
	path, err := a.configPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", errcode.Wrap(errcode.InvalidArgument, err, "cannot create %s: %v", filepath.Dir(path), err)
	}
	data, _ := json.MarshalIndent(c, "", "  ")
	if err := writeFilePrivate(path, append(data, '\n')); err != nil {
		return "", err
	}
	return path, nil
}

// writeOutput writes data to standard output when path is "" or "-", and
// otherwise to the file path with mode 0600 (see writeFilePrivate). It
// reports whether it wrote a file, so that the caller can say so on stderr.
func (a *app) writeOutput(path string, data []byte) (toFile bool, err error) {
	if path == "" || path == "-" {
		_, err = a.stdout.Write(data)
		return false, err
	}
	return true, writeFilePrivate(path, data)
}

// writeFilePrivate writes data to path with mode 0600, atomically: a
// temporary file in the same directory renamed over path, so no reader ever
// sees a partial file and no other user can open it.
func writeFilePrivate(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return errcode.Wrap(errcode.InvalidArgument, err, "cannot write %s: %v", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename this fails harmlessly
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return errcode.Wrap(errcode.Internal, err, "cannot write %s: %v", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return errcode.Wrap(errcode.Internal, err, "cannot write %s: %v", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return errcode.Wrap(errcode.Internal, err, "cannot write %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		return errcode.Wrap(errcode.Internal, err, "cannot write %s: %v", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return errcode.Wrap(errcode.InvalidArgument, err, "cannot write %s: %v", path, err)
	}
	return nil
}

// settings are the connection settings after precedence: flags, then the
// environment, then the configuration file.
type settings struct {
	URL, Auth, Token, AWSRegion, Audience string
	// savedFor is the server of a saved token that was not used because the
	// URL came from elsewhere and names another server (for the error).
	savedFor string
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// sameServer reports whether two server URLs name the same server, as the
// client normalises them.
func sameServer(a, b string) bool {
	ua, errA := client.ParseServerURL(a)
	ub, errB := client.ParseServerURL(b)
	return errA == nil && errB == nil && strings.EqualFold(ua.Host, ub.Host) && ua.Scheme == ub.Scheme && ua.Path == ub.Path
}

func (a *app) settings() (settings, error) {
	file, err := a.loadConfig()
	if err != nil {
		return settings{}, err
	}
	name, explicit := a.profileName()
	if err := validateProfileName(name); err != nil {
		return settings{}, err
	}
	cfg, found := file.get(name)
	if explicit && !found && a.flagURL == "" && a.getenv("LOCKWELL_URL") == "" && !a.loggingIn {
		path, _ := a.configPath()
		return settings{}, errcode.New(errcode.InvalidArgument, "no saved login named %s in %s (saved: %s); log in with lockwell login --profile %s --url URL",
			name, path, orNone(file.names()), name)
	}
	first := func(vs ...string) string {
		for _, v := range vs {
			if v != "" {
				return v
			}
		}
		return ""
	}
	s := settings{
		URL:       first(a.flagURL, a.getenv("LOCKWELL_URL"), cfg.URL),
		Auth:      first(a.flagAuth, a.getenv("LOCKWELL_AUTH"), cfg.Auth, "token"),
		AWSRegion: first(a.flagRegion, a.getenv("AWS_REGION"), a.getenv("AWS_DEFAULT_REGION"), cfg.AWSRegion),
		Audience:  first(a.flagAudience, a.getenv("LOCKWELL_AUDIENCE"), cfg.Audience),
	}
	if a.flagTokenFile != "" {
		tok, err := readTokenFile(a.flagTokenFile)
		if err != nil {
			return s, err
		}
		s.Token = tok
	} else if tok := a.getenv("LOCKWELL_TOKEN"); tok != "" {
		s.Token = tok
	} else if cfg.Token != "" {
		// The saved token belongs to the saved server: never send it to
		// another one that --url or LOCKWELL_URL names.
		if sameServer(s.URL, cfg.URL) {
			s.Token = cfg.Token
		} else {
			s.savedFor = cfg.URL
		}
	}
	return s, nil
}

func readTokenFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", errcode.Wrap(errcode.InvalidArgument, err, "cannot read the token file: %v", err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", errcode.New(errcode.InvalidArgument, "the token file %s is empty", path)
	}
	return tok, nil
}

// client returns an API client built from the settings.
func (a *app) client(ctx context.Context) (*client.Client, error) {
	s, err := a.settings()
	if err != nil {
		return nil, err
	}
	if u, err := client.ParseServerURL(s.URL); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		fmt.Fprintf(a.stderr, "warning: %s is plain http: credentials and values cross the network unencrypted; use https\n", u.Host)
	}
	return newClient(ctx, s)
}

// isLoopback reports whether host names this machine (localhost or a
// loopback address), where plain http does not leave the machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newClient(ctx context.Context, s settings) (*client.Client, error) {
	if _, err := client.ParseServerURL(s.URL); err != nil {
		return nil, err
	}
	var auth client.Authenticator
	switch s.Auth {
	case "token", "bearer":
		if s.Token == "" && s.savedFor != "" {
			return nil, errcode.New(errcode.Unauthenticated, "no API token for %s: the saved login is for %s, and its token is only sent there", s.URL, s.savedFor)
		}
		if s.Token == "" {
			return nil, errcode.New(errcode.Unauthenticated, "no API token: set LOCKWELL_TOKEN, pass --token-file or run lockwell login")
		}
		auth = client.BearerToken(s.Token)
	case "aws-sigv4":
		signer, err := client.DefaultSigV4(ctx, s.AWSRegion)
		if err != nil {
			return nil, err
		}
		auth = signer
	case "google-idtoken":
		aud := s.Audience
		if aud == "" {
			aud = s.URL
		}
		ts, err := client.GoogleIDToken(ctx, aud)
		if err != nil {
			return nil, err
		}
		auth = ts
	default:
		return nil, errcode.New(errcode.InvalidArgument, "--auth must be token, aws-sigv4 or google-idtoken, got %q", s.Auth)
	}
	return client.New(s.URL, auth, client.WithUserAgent("lockwell-cli"))
}

// apiContext bounds the calls one command makes to the server.
func (a *app) apiContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if a.flagTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, a.flagTimeout)
}

// bulkContext is apiContext for commands that make one request per secret
// (export --all, import): their total time grows with the number of
// secrets, so --timeout bounds the whole command only when it is given;
// otherwise each request is bounded by the client's own per-request
// timeout and the command runs as long as requests keep being answered.
func (a *app) bulkContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	if f := cmd.Flag("timeout"); f != nil && f.Changed {
		return a.apiContext(cmd)
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithCancel(ctx)
}

// readLine reads one line from standard input (for --token-stdin).
func (a *app) readLine() (string, error) {
	if a.stdinLines == nil {
		a.stdinLines = bufio.NewReader(a.stdin)
	}
	line, err := a.stdinLines.ReadString('\n')
	if err != nil && line == "" {
		return "", errcode.New(errcode.InvalidArgument, "nothing on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// openInput opens a document named on the command line: a file, or
// standard input for "-". The caller calls the returned function when done.
func (a *app) openInput(path string) (io.Reader, func(), error) {
	if path == "-" {
		return a.stdin, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		code := errcode.InvalidArgument
		if os.IsNotExist(err) {
			code = errcode.NotFound
		}
		return nil, nil, errcode.Wrap(code, err, "cannot read %s: %v", path, errTextOf(err))
	}
	return f, func() { f.Close() }, nil
}

// progress draws a one-line bar on standard error when it is a terminal
// (as "lockwell migrate run" does), and nothing otherwise.
type progress struct {
	w     io.Writer
	label string
	on    bool
	drawn bool
	last  int
}

func (a *app) newProgress(label string) *progress {
	on := false
	if f, ok := a.stderr.(*os.File); ok {
		on = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: a.stderr, label: label, on: on, last: -1}
}

// set shows done of total, redrawing only when the bar or the count moves
// by a percent.
func (p *progress) set(done, total int) {
	if !p.on || total == 0 {
		return
	}
	if pct := done * 100 / total; pct == p.last && done != total {
		return
	} else {
		p.last = pct
	}
	const width = 30
	n := done * width / total
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d", p.label, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
	p.drawn = true
}

// finish ends the bar's line.
func (p *progress) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
