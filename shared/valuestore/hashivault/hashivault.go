// Package hashivault is the HashiCorp Vault (KV v2) value store, opened by
// URL:
//
//	hashivault://vault.internal:8200/secret?prefix=lockwell&namespace=team-a
//	hashivault://127.0.0.1:8200/kv/lockwell?tls=false&max_versions=500
//
// The host and port name the Vault server; the path names the KV v2 mount
// (it may have several segments). Parameters (all optional; any other is an
// error):
//   - prefix: the path prefix under the mount, default "lockwell".
//   - tls: "false" to speak plain HTTP (local development only); default
//     true. The CA bundle comes from VAULT_CACERT / VAULT_CAPATH, as for the
//     Vault CLI.
//   - max_versions: 100-1000, default 1000, set on each new entry's
//     metadata (it overrides the mount's setting). Vault destroys the oldest
//     version of an entry once it has more than max_versions, whoever wrote
//     the newer ones. Every version the index keeps (LOCKWELL_KEEP_VERSIONS,
//     default 20, at most 1000) is a KV version, and racing writers that
//     lose their index updates still write versions (Vault's default of 10
//     would let ten of them destroy the version the index points at). So
//     max_versions must be at least LOCKWELL_KEEP_VERSIONS plus the number
//     of writers that can race on one secret; the default of 1000 covers
//     every retention Lockwell allows. Lockwell itself destroys the versions
//     no kept version names (Retire), so a high cap costs only metadata.
//   - namespace: the Vault Enterprise namespace; default VAULT_NAMESPACE.
//
// Credentials never come from the URL. Auth: VAULT_TOKEN, or else AppRole
// with VAULT_ROLE_ID and VAULT_SECRET_ID (login at auth/approle/login in the
// namespace). A background loop renews the token at half its TTL and logs
// in again with AppRole when renewal fails or the token nears its max TTL;
// a request that gets 403 also logs in again once. Close stops the loop.
//
// Vault has no tags, so, as ZenML does, the tags ride inside the data: each
// secret's values are the KV v2 secret "<prefix>/<secret id>" holding
// {"values": {...}, "lockwell": {"deployment": ..., "secret_id": ...}}.
// Writes use check-and-set (cas=0 to create, cas=<current version> to
// update), and the ref of a Put is the KV version number. Policy needed:
// create, read, update on <mount>/data/<prefix>/*; read, list, update,
// delete on <mount>/metadata/<prefix>/* (update sets max_versions on new
// entries); update on <mount>/destroy/<prefix>/*.
package hashivault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
	"github.com/lockwell/lockwell/shared/retry"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/valuestore"
)

// Scheme is the URL scheme the store registers.
const Scheme = "hashivault"

// Limit is the largest JSON payload of values the store accepts: 511 KiB,
// so that an entry with its metadata fits Consul's 512 KiB value limit
// (Vault's integrated storage allows 1 MiB).
const Limit = 511 * 1024

const storeName = "HashiCorp Vault"

// The environment variables the store reads for credentials.
const (
	EnvToken    = "VAULT_TOKEN"
	EnvRoleID   = "VAULT_ROLE_ID"
	EnvSecretID = "VAULT_SECRET_ID"
	EnvNS       = "VAULT_NAMESPACE"
)

func init() { valuestore.Register(Scheme, open) }

// DefaultMaxVersions is the max_versions set on new entries unless
// configured otherwise, and MinMaxVersions the least a configuration may
// set (see the package doc).
const (
	DefaultMaxVersions = 1000
	MinMaxVersions     = 100
)

// Config configures a Store.
type Config struct {
	Address     string // http(s)://HOST:PORT
	Mount       string // KV v2 mount path
	Prefix      string
	Namespace   string
	MaxVersions int // versions Vault keeps per entry; 0: DefaultMaxVersions
	Deployment  string
	// Token authenticates; if empty, AppRole login with RoleID and SecretID.
	Token            string
	RoleID, SecretID string
	// Retry is the retry policy; the zero value is retry.Default.
	Retry retry.Policy
}

// Store is the HashiCorp Vault value store. It is safe for concurrent use.
type Store struct {
	client *api.Client
	cfg    Config

	loginMu   sync.Mutex // one login at a time
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

var (
	segmentPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	hostPattern    = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9a-fA-F:]+\](:[0-9]{1,5})?$`)
)

func open(ctx context.Context, u *url.URL, opts valuestore.Options) (valuestore.Store, error) {
	if err := openurl.CheckParams(u, "prefix", "tls", "max_versions", "namespace"); err != nil {
		return nil, err
	}
	if u.Host == "" || !hostPattern.MatchString(u.Host) {
		return nil, errcode.New(errcode.InvalidArgument, "hashivault URL must name the server: hashivault://HOST:PORT/MOUNT")
	}
	q := u.Query()
	cfg := Config{
		Mount:      strings.Trim(u.Path, "/"),
		Prefix:     q.Get("prefix"),
		Namespace:  q.Get("namespace"),
		Deployment: opts.Deployment,
		Token:      os.Getenv(EnvToken),
		RoleID:     os.Getenv(EnvRoleID),
		SecretID:   os.Getenv(EnvSecretID),
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "lockwell"
	}
	if cfg.Namespace == "" {
		cfg.Namespace = os.Getenv(EnvNS)
	}
	scheme := "https"
	if v := q.Get("tls"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, errcode.New(errcode.InvalidArgument, "tls must be true or false")
		}
		if !b {
			scheme = "http"
		}
	}
	cfg.Address = scheme + "://" + u.Host
	if v := q.Get("max_versions"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < MinMaxVersions || n > DefaultMaxVersions {
			// Fewer would let the versions of racing writers that lost
			// destroy the version the index points at.
			return nil, errcode.New(errcode.InvalidArgument, "max_versions must be a whole number from %d to %d", MinMaxVersions, DefaultMaxVersions)
		}
		cfg.MaxVersions = n
	}
	return New(ctx, cfg)
}

// New connects to Vault, authenticates (token or AppRole) and starts token
// renewal. Errors: invalid_argument for a bad configuration or missing
// credentials; permission_denied when Vault rejects them; unavailable when
// Vault cannot be reached.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Mount == "" || !validPath(cfg.Mount) {
		return nil, errcode.New(errcode.InvalidArgument, "hashivault URL needs the KV v2 mount as its path, for example hashivault://HOST:PORT/secret")
	}
	if !segmentPattern.MatchString(cfg.Prefix) {
		return nil, errcode.New(errcode.InvalidArgument, "%s prefix must be 1-64 letters, digits, '_', '.' or '-'", storeName)
	}
	if cfg.Namespace != "" && !validPath(strings.Trim(cfg.Namespace, "/")) {
		return nil, errcode.New(errcode.InvalidArgument, "%s namespace must be path segments of letters, digits, '_', '.' or '-'", storeName)
	}
	if cfg.Deployment == "" {
		return nil, errcode.New(errcode.InvalidArgument, "value store needs a deployment id")
	}
	if cfg.MaxVersions != 0 && (cfg.MaxVersions < MinMaxVersions || cfg.MaxVersions > DefaultMaxVersions) {
		return nil, errcode.New(errcode.InvalidArgument, "max_versions must be a whole number from %d to %d", MinMaxVersions, DefaultMaxVersions)
	}
	if cfg.Token == "" && (cfg.RoleID == "" || cfg.SecretID == "") {
		return nil, errcode.New(errcode.InvalidArgument, "%s needs credentials: set %s, or %s and %s for AppRole", storeName, EnvToken, EnvRoleID, EnvSecretID)
	}
	vc := api.DefaultConfig() // reads VAULT_CACERT, VAULT_CLIENT_TIMEOUT, ... from the environment
	if vc.Error != nil {
		return nil, errcode.Wrap(errcode.InvalidArgument, vc.Error, "cannot configure the %s client (check VAULT_CACERT and friends)", storeName)
	}
	vc.Address = cfg.Address
	vc.MaxRetries = 0 // one retry policy: package retry
	client, err := api.NewClient(vc)
	if err != nil {
		return nil, errcode.Wrap(errcode.InvalidArgument, err, "cannot create the %s client", storeName)
	}
	client.ClearToken() // NewClient read VAULT_TOKEN itself; we decide below
	client.SetNamespace(strings.Trim(cfg.Namespace, "/"))
	s := &Store{client: client, cfg: cfg, done: make(chan struct{})}

	var ttl time.Duration
	var renewable bool
	if cfg.Token != "" {
		client.SetToken(cfg.Token)
		var self *api.Secret
		err := retry.Do(ctx, cfg.Retry, func(ctx context.Context) error {
			var err error
			self, err = client.Auth().Token().LookupSelfWithContext(ctx)
			return classify(err, "look up the token")
		})
		if err != nil {
			return nil, err
		}
		ttl, _ = self.TokenTTL()
		renewable, _ = self.TokenIsRenewable()
	} else if ttl, renewable, err = s.login(ctx); err != nil {
		return nil, err
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.renewLoop(loopCtx, ttl, renewable)
	return s, nil
}

func validPath(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if !segmentPattern.MatchString(seg) {
			return false
		}
	}
	return true
}

// login logs in with AppRole and installs the new token.
func (s *Store) login(ctx context.Context) (time.Duration, bool, error) {
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	var sec *api.Secret
	err := retry.Do(ctx, s.cfg.Retry, func(ctx context.Context) error {
		var err error
		// A fresh clone without the old token: login needs none.
		c, cerr := s.client.Clone()
		if cerr != nil {
			return errcode.Wrap(errcode.Internal, cerr, "cannot prepare the %s login", storeName)
		}
		c.ClearToken()
		c.SetNamespace(strings.Trim(s.cfg.Namespace, "/"))
		sec, err = c.Logical().WriteWithContext(ctx, "auth/approle/login", map[string]any{"role_id": s.cfg.RoleID, "secret_id": s.cfg.SecretID})
		if err != nil {
			var re *api.ResponseError
			if errors.As(err, &re) && re.StatusCode == 400 {
				return errcode.New(errcode.PermissionDenied, "%s rejected the AppRole credentials (%s, %s)", storeName, EnvRoleID, EnvSecretID)
			}
		}
		return classify(err, "log in with AppRole")
	})
	if err != nil {
		return 0, false, err
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return 0, false, errcode.New(errcode.Internal, "%s AppRole login returned no token", storeName)
	}
	s.client.SetToken(sec.Auth.ClientToken)
	return time.Duration(sec.Auth.LeaseDuration) * time.Second, sec.Auth.Renewable, nil
}

// renewLoop renews the token at half its remaining TTL. When renewal fails
// or cannot extend the token (not renewable, or at its max TTL), it logs in
// again with AppRole; with a plain token it can only keep trying.
func (s *Store) renewLoop(ctx context.Context, ttl time.Duration, renewable bool) {
	defer close(s.done)
	const floor = 50 * time.Millisecond
	for ttl > 0 {
		wait := max(ttl/2, floor)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		var err error
		prev := ttl
		if renewable {
			var sec *api.Secret
			sec, err = s.client.Auth().Token().RenewSelfWithContext(ctx, int(prev.Seconds()))
			if err == nil && sec != nil && sec.Auth != nil {
				ttl = time.Duration(sec.Auth.LeaseDuration) * time.Second
				renewable = sec.Auth.Renewable
			} else if err == nil {
				err = errors.New("renewal returned no auth")
			}
		}
		// Log in again when renewal failed, is impossible, or no longer
		// extends the token (its max TTL is near).
		if err != nil || !renewable || ttl < prev/2 {
			if s.cfg.Token != "" {
				if err != nil {
					ttl = max(prev/2, floor) // keep trying; the token may still be valid
				}
				if !renewable {
					return
				}
				continue
			}
			if newTTL, newRenewable, lerr := s.login(ctx); lerr == nil {
				ttl, renewable = newTTL, newRenewable
			} else {
				ttl = max(prev/2, time.Second) // Vault may be down: try again soon
			}
		}
	}
}

// Name implements valuestore.Store.
func (s *Store) Name() string { return storeName }

// Limit implements valuestore.Store.
func (s *Store) Limit() int { return Limit }

// Close stops token renewal and waits for it to end. It does not revoke
// the token. Calling it again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.done
	})
	return nil
}

func (s *Store) key(id string) string { return s.cfg.Prefix + "/" + id }

func (s *Store) dataPath(id string) string     { return s.cfg.Mount + "/data/" + s.key(id) }
func (s *Store) metadataPath(id string) string { return s.cfg.Mount + "/metadata/" + s.key(id) }

func notFound(id string) error {
	return errcode.New(errcode.NotFound, "no stored values for secret %s", id)
}

// do runs op with retries; a 403 with AppRole auth logs in again once.
func (s *Store) do(ctx context.Context, op func(ctx context.Context) error) error {
	err := retry.Do(ctx, s.cfg.Retry, op)
	if errcode.Is(err, errcode.PermissionDenied) && s.cfg.Token == "" {
		if _, _, lerr := s.login(ctx); lerr != nil {
			return err
		}
		err = retry.Do(ctx, s.cfg.Retry, op)
	}
	return err
}

// entryData is what the store keeps in each KV version.
type entryData struct {
	Values   map[string]string `json:"values"`
	Lockwell struct {
		Deployment string `json:"deployment"`
		SecretID   string `json:"secret_id"`
	} `json:"lockwell"`
}

// readVersion reads version n (0: the current one). found is false when it
// does not exist, is deleted or destroyed. owned is false when it is not
// this deployment's entry for id. exists is false when the path has no
// versions at all; version is the number of the version read (also when it
// is deleted), 0 if unknown.
func (s *Store) readVersion(ctx context.Context, id string, n int) (r versionRead, err error) {
	var sec *api.Secret
	err = s.do(ctx, func(ctx context.Context) error {
		var err error
		sec, err = s.client.Logical().ReadWithDataWithContext(ctx, s.dataPath(id), map[string][]string{"version": {strconv.Itoa(n)}})
		return classify(err, "read")
	})
	if err != nil || sec == nil || sec.Data == nil {
		return r, err
	}
	r.exists = true
	if md, ok := sec.Data["metadata"].(map[string]any); ok {
		if v, ok := md["version"].(json.Number); ok {
			n, _ := v.Int64()
			r.version = int(n)
		}
	}
	if sec.Data["data"] == nil {
		return r, nil // deleted or destroyed
	}
	r.found = true
	raw, err := json.Marshal(sec.Data["data"])
	if err != nil {
		return r, nil
	}
	var d entryData
	if json.Unmarshal(raw, &d) != nil || d.Lockwell.Deployment != s.cfg.Deployment || d.Lockwell.SecretID != id {
		return r, nil // not ours (or not a Lockwell entry at all)
	}
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	r.owned, r.values = true, d.Values
	return r, nil
}

type versionRead struct {
	exists, found, owned bool
	version              int
	values               map[string]string
}

type metadata struct {
	current  int
	versions map[int]bool // version -> readable (neither deleted nor destroyed)
}

// readMetadata returns nil when the path has no metadata.
func (s *Store) readMetadata(ctx context.Context, id string) (*metadata, error) {
	var sec *api.Secret
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		sec, err = s.client.Logical().ReadWithContext(ctx, s.metadataPath(id))
		return classify(err, "read metadata")
	})
	if err != nil || sec == nil || sec.Data == nil {
		return nil, err
	}
	md := &metadata{versions: map[int]bool{}}
	if n, ok := sec.Data["current_version"].(json.Number); ok {
		v, _ := n.Int64()
		md.current = int(v)
	}
	vs, _ := sec.Data["versions"].(map[string]any)
	for k, v := range vs {
		n, err := strconv.Atoi(k)
		if err != nil {
			continue
		}
		info, _ := v.(map[string]any)
		destroyed, _ := info["destroyed"].(bool)
		deletion, _ := info["deletion_time"].(string)
		md.versions[n] = !destroyed && deletion == ""
	}
	return md, nil
}

// entryState is what inspect learns about the entry for an id.
type entryState struct {
	exists  bool // the path has versions
	owned   bool // this deployment's entry for the id
	current int  // the current version, for check-and-set
}

// inspect reads the current version to learn whether the entry exists, is
// this deployment's, and its current version: one read in the common case.
// When the current version is deleted or destroyed, it judges by the newest
// readable version instead; an entry with none cannot be proven ours and
// counts as foreign.
func (s *Store) inspect(ctx context.Context, id string) (entryState, error) {
	cur, err := s.readVersion(ctx, id, 0)
	if err != nil || !cur.exists {
		return entryState{}, err
	}
	if cur.found {
		return entryState{exists: true, owned: cur.owned, current: cur.version}, nil
	}
	md, err := s.readMetadata(ctx, id)
	if err != nil {
		return entryState{}, err
	}
	if md == nil {
		return entryState{}, nil // deleted meanwhile
	}
	var live []int
	for n, ok := range md.versions {
		if ok {
			live = append(live, n)
		}
	}
	st := entryState{exists: true, current: md.current}
	if len(live) == 0 {
		return st, nil
	}
	sort.Sort(sort.Reverse(sort.IntSlice(live)))
	newest, err := s.readVersion(ctx, id, live[0])
	if err != nil {
		return entryState{}, err
	}
	if !newest.found { // deleted between the two reads: look again next time
		return entryState{}, errcode.New(errcode.Unavailable, "the %s entry for secret %s changed while being read; retry", storeName, id)
	}
	st.owned = newest.owned
	return st, nil
}

// Put implements valuestore.Store: a check-and-set write of a new version.
// Errors: invalid_argument (bad id), too_large (checked before anything is
// sent), already_exists when the path holds an entry that is not this
// deployment's, permission_denied, unavailable (also when concurrent
// writers keep winning the check-and-set).
func (s *Store) Put(ctx context.Context, id string, values map[string]string) (string, error) {
	if err := secret.ValidateID(id); err != nil {
		return "", err
	}
	if values == nil {
		values = map[string]string{}
	}
	if _, err := valuestore.EncodeValues(values, Limit, storeName); err != nil {
		return "", err
	}
	data := map[string]any{
		"values":   values,
		"lockwell": map[string]string{"deployment": s.cfg.Deployment, "secret_id": id},
	}
	for range 8 {
		st, err := s.inspect(ctx, id)
		if err != nil {
			return "", err
		}
		if st.exists && !st.owned {
			return "", errcode.New(errcode.AlreadyExists, "%s already holds an entry at %s that is not this deployment's", storeName, s.key(id))
		}
		cas := st.current
		var sec *api.Secret
		err = s.do(ctx, func(ctx context.Context) error {
			var err error
			sec, err = s.client.Logical().WriteWithContext(ctx, s.dataPath(id), map[string]any{"data": data, "options": map[string]any{"cas": cas}})
			return classify(err, "write")
		})
		if errcode.Is(err, errcode.FailedPrecondition) {
			continue // another writer made a version first: read again
		}
		if err != nil {
			return "", err
		}
		version, ok := numberField(sec, "version")
		if !ok {
			return "", errcode.New(errcode.Internal, "%s did not return the version it wrote", storeName)
		}
		if cas == 0 {
			err = s.do(ctx, func(ctx context.Context) error {
				_, err := s.client.Logical().WriteWithContext(ctx, s.metadataPath(id), map[string]any{"max_versions": s.maxVersions()})
				return classify(err, "set max_versions")
			})
			if err != nil {
				return "", err
			}
		}
		return strconv.Itoa(version), nil
	}
	return "", errcode.New(errcode.Unavailable, "%s: concurrent writers of secret %s kept changing it; retry", storeName, id)
}

// maxVersions is the max_versions of new entries.
func (s *Store) maxVersions() int {
	if s.cfg.MaxVersions > 0 {
		return s.cfg.MaxVersions
	}
	return DefaultMaxVersions
}

func numberField(sec *api.Secret, name string) (int, bool) {
	if sec == nil || sec.Data == nil {
		return 0, false
	}
	n, ok := sec.Data[name].(json.Number)
	if !ok {
		return 0, false
	}
	v, err := n.Int64()
	return int(v), err == nil && v > 0
}

func parseRef(ref string) (int, bool) {
	n, err := strconv.Atoi(ref)
	return n, err == nil && n > 0 && strconv.Itoa(n) == ref
}

// Get implements valuestore.Store: it reads KV version ref and checks the
// tags inside it. Errors: not_found (also for a deleted or destroyed
// version), permission_denied, unavailable.
func (s *Store) Get(ctx context.Context, id, ref string) (map[string]string, error) {
	n, ok := parseRef(ref)
	if secret.ValidateID(id) != nil || !ok {
		return nil, errcode.New(errcode.NotFound, "no version %q of the values of secret %s", ref, id)
	}
	r, err := s.readVersion(ctx, id, n)
	if err != nil {
		return nil, err
	}
	if !r.found || !r.owned {
		return nil, errcode.New(errcode.NotFound, "no version %s of the values of secret %s", ref, id)
	}
	return r.values, nil
}

// Retire implements valuestore.Store: it destroys (permanently) every
// version older than keep, the oldest version the index keeps. Newer
// versions stay: the index's past versions name them, and a writer may be
// about to record one. Errors: not_found, permission_denied, unavailable.
func (s *Store) Retire(ctx context.Context, id, keep string) error {
	k, ok := parseRef(keep)
	if secret.ValidateID(id) != nil || !ok {
		return notFound(id)
	}
	r, err := s.readVersion(ctx, id, k)
	if err != nil {
		return err
	}
	if !r.found || !r.owned {
		return notFound(id)
	}
	md, err := s.readMetadata(ctx, id)
	if err != nil || md == nil {
		return err
	}
	var old []int
	for n := range md.versions {
		if n < k {
			old = append(old, n)
		}
	}
	if len(old) == 0 {
		return nil
	}
	sort.Ints(old)
	return s.do(ctx, func(ctx context.Context) error {
		_, err := s.client.Logical().WriteWithContext(ctx, s.cfg.Mount+"/destroy/"+s.key(id), map[string]any{"versions": old})
		return classify(err, "destroy old versions")
	})
}

// Delete implements valuestore.Store: it deletes the entry's metadata and
// every version. Errors: not_found, permission_denied, unavailable.
func (s *Store) Delete(ctx context.Context, id string) error {
	if secret.ValidateID(id) != nil {
		return notFound(id)
	}
	st, err := s.inspect(ctx, id)
	if err != nil {
		return err
	}
	if !st.exists || !st.owned {
		return notFound(id)
	}
	return s.do(ctx, func(ctx context.Context) error {
		_, err := s.client.Logical().DeleteWithContext(ctx, s.metadataPath(id))
		return classify(err, "delete")
	})
}

// Entries implements valuestore.Store: it lists the paths under the prefix
// and calls fn with each id whose newest readable version carries this
// deployment's tags. Vault cannot filter by content, so this reads the
// current version of each entry.
func (s *Store) Entries(ctx context.Context, fn func(secretID string) error) error {
	var sec *api.Secret
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		sec, err = s.client.Logical().ListWithContext(ctx, s.cfg.Mount+"/metadata/"+s.cfg.Prefix+"/")
		return classify(err, "list")
	})
	if err != nil || sec == nil || sec.Data == nil {
		return err
	}
	keys, _ := sec.Data["keys"].([]any)
	for _, k := range keys {
		id, _ := k.(string)
		if secret.ValidateID(id) != nil {
			continue
		}
		st, err := s.inspect(ctx, id)
		if err != nil {
			return err
		}
		if !st.exists || !st.owned {
			continue // not ours, or deleted since the listing
		}
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

// providerError is the sanitized cause kept for logs: the HTTP status only,
// never Vault's error strings, which may quote request content.
type providerError struct{ status int }

func (e *providerError) Error() string {
	if e.status == 0 {
		return storeName + ": no response"
	}
	return fmt.Sprintf("%s: HTTP %d", storeName, e.status)
}

// Throttled implements retry.Throttler (for the value-store throttle count).
func (e *providerError) Throttled() bool { return e.status == 429 }

// statusCodeMap classifies Vault's HTTP statuses.
var statusCodeMap = map[int]errcode.Code{
	400: errcode.InvalidArgument,
	401: errcode.PermissionDenied,
	403: errcode.PermissionDenied,
	404: errcode.NotFound,
	405: errcode.Internal,
	412: errcode.Unavailable, // a performance standby has not caught up yet
	413: errcode.TooLarge,
	429: errcode.Unavailable, // rate limit quota
	500: errcode.Unavailable,
	502: errcode.Unavailable,
	503: errcode.Unavailable, // sealed or standby
	504: errcode.Unavailable,
}

// classify maps a Vault client error to an errcode error carrying no
// provider text. nil stays nil.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return errcode.Wrap(errcode.Unavailable, err, "%s did not answer in time (%s)", storeName, what)
	}
	var re *api.ResponseError
	if !errors.As(err, &re) {
		return errcode.Wrap(errcode.Unavailable, &providerError{}, "%s is unreachable (%s)", storeName, what)
	}
	cause := &providerError{status: re.StatusCode}
	code, ok := statusCodeMap[re.StatusCode]
	if !ok {
		code = errcode.Internal
		if re.StatusCode >= 500 {
			code = errcode.Unavailable
		}
	}
	if re.StatusCode == 400 {
		for _, e := range re.Errors {
			if strings.Contains(e, "check-and-set") {
				return errcode.Wrap(errcode.FailedPrecondition, cause, "%s: a concurrent write changed the entry (%s)", storeName, what)
			}
		}
	}
	switch code {
	case errcode.PermissionDenied:
		return errcode.Wrap(code, cause, "%s denied access (%s); check the token's policy", storeName, what)
	case errcode.Unavailable:
		return errcode.Wrap(code, cause, "%s is throttling or unavailable (%s); retry later", storeName, what)
	case errcode.NotFound:
		return errcode.Wrap(code, cause, "%s has no such entry (%s)", storeName, what)
	default:
		return errcode.Wrap(code, cause, "%s refused the request (%s): HTTP %d", storeName, what, re.StatusCode)
	}
}
