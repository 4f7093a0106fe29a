// Package legacy reads the entries that ZenML's deprecated "secrets manager"
// stack components left behind, one reader per flavor and storage mode, so
// that package migrate can move them into the central store.
//
// A Source is opened from a URL whose scheme names the flavor
// (zenml-local, zenml-aws, zenml-gcp, zenml-azure, zenml-vault,
// zenml-github) or from the component as ZenML stored it (FromComponent).
// The flavors register themselves by scheme from their own packages
// (migrate/legacy/local, .../awssm, .../gcpsm, .../azurekv, .../vaultkv,
// .../github); import migrate/legacy/all to link them all. Credentials never
// come from URLs: each reader uses its SDK's credential chain or documented
// environment variables.
//
// Every reader applies the same rules (see
// shared/reference/zenml-legacy-secrets-managers.md): the effective scope
// defaults to "component" for the scoped flavors and "none" for local and
// GitHub; an entry without zenml_schema_name is not ZenML's and is skipped;
// zenml_schema_name is removed from the values and JSON values that are not
// strings become strings (Stringify).
//
// ZenML's centralized secrets store (0.35 and later) is read too: through a
// ZenML server's REST API (zenml-server, package .../zenmlserver), from its
// SQL database (zenml-sql, .../zenmlsql), and, next to the legacy naming,
// as the zenml/<uuid> or zenml-<uuid> entries its AWS, GCP, Azure and Vault
// back ends held with their metadata until 0.54.0 (CentralizedItem,
// DecodeCentralized; see shared/reference/zenml-secrets-store.md). Such an
// entry is referenced by its ZenML secret id (Item.Ref), keeps its
// visibility and owner (Owned), is listed whatever the legacy scope, and is
// never deleted by the migration.
package legacy

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
)

// SchemaKey is the key ZenML adds to every payload to name the schema.
const SchemaKey = "zenml_schema_name"

// Scope is a legacy secrets manager's scope.
type Scope string

// The four scopes of ZenML's SecretsManagerScope.
const (
	ScopeNone      Scope = "none"
	ScopeGlobal    Scope = "global"
	ScopeComponent Scope = "component"
	ScopeNamespace Scope = "namespace"
)

// Descriptor says where a source's entries live: the flavor, the location
// within the flavor (a file, a region, a project, a vault, a mount) and the
// scope the legacy component used.
type Descriptor struct {
	Flavor        string // local, aws, gcp, azure, vault, github
	Location      string // file path, region, project, vault name, host:port/mount, owner/repo
	Scope         Scope
	ComponentUUID string // lowercase UUID with dashes; set for component scope
	Namespace     string // set for namespace scope
}

// ScopePath returns ZenML's scope path: [] for none, [zenml global],
// [zenml component UUID] or [zenml namespace NS].
func (d Descriptor) ScopePath() []string {
	switch d.Scope {
	case ScopeGlobal:
		return []string{"zenml", "global"}
	case ScopeComponent:
		return []string{"zenml", "component", d.ComponentUUID}
	case ScopeNamespace:
		return []string{"zenml", "namespace", d.Namespace}
	}
	return nil
}

// FullName returns the external name of secret name in this scope, joined
// with sep ("/" for AWS and Vault, "-" for GCP and Azure).
func (d Descriptor) FullName(name, sep string) string {
	return strings.Join(append(d.ScopePath(), name), sep)
}

// ScopeLabels returns the metadata scoped managers write (zenml_scope, plus
// zenml_component_uuid or zenml_namespace), without the secret name. It is
// empty for scope none.
func (d Descriptor) ScopeLabels() map[string]string {
	m := map[string]string{}
	switch d.Scope {
	case ScopeNone:
		return m
	case ScopeComponent:
		m["zenml_component_uuid"] = d.ComponentUUID
	case ScopeNamespace:
		m["zenml_namespace"] = d.Namespace
	}
	m["zenml_scope"] = string(d.Scope)
	return m
}

// MatchesScope reports whether metadata (tags or labels) carries every scope
// label of d.
func (d Descriptor) MatchesScope(meta map[string]string) bool {
	for k, v := range d.ScopeLabels() {
		if meta[k] != v {
			return false
		}
	}
	return true
}

// Origin returns what a migrated secret records about where it came from:
// flavor, location, scope (with component UUID or namespace) and legacy
// name, for example "zenml-aws://us-east-1#component/6b3e…/openai". Two
// entries have the same origin exactly when they are the same legacy entry.
func (d Descriptor) Origin(name string) string {
	scope := string(d.Scope)
	switch d.Scope {
	case ScopeComponent:
		scope += "/" + d.ComponentUUID
	case ScopeNamespace:
		scope += "/" + d.Namespace
	}
	return "zenml-" + d.Flavor + "://" + d.Location + "#" + scope + "/" + name
}

// Status says what the migrator may do with a listed entry.
type Status string

// The statuses of a listed entry.
const (
	Migratable    Status = "migratable"     // a ZenML entry of this source's scope
	Skipped       Status = "skipped"        // not ZenML's, or ZenML's centralized store; Reason says which
	NotMigratable Status = "not_migratable" // ZenML's, but its values cannot be read here (GitHub)
)

// Item is one listed legacy entry, without values.
type Item struct {
	Name     string   // the ZenML secret name (for skipped entries, the external name)
	Location string   // the external name(s) it is stored under, comma-separated (see AddLocation)
	Schema   string   // zenml_schema_name, when known
	Keys     []string // sorted key names, without zenml_schema_name
	Status   Status
	Reason   string // why it is skipped or not migratable
	// Owned is set for an entry of ZenML's centralized secrets store, which
	// has its own identity, visibility and owner; nil for legacy entries.
	Owned *Owned
}

// Ref returns the reference that names the item in Read, Delete, Origin,
// job entries and queue messages: the ZenML secret id of a centralized
// entry (names are not unique there), else its name.
func (it Item) Ref() string {
	if it.Owned != nil {
		return it.Owned.ID
	}
	return it.Name
}

// Owned is what ZenML's centralized secrets store (0.35 and later) records
// about a secret besides its name and values. Such a secret keeps its
// visibility when migrated: a private one becomes a private Lockwell secret
// of the principal its ZenML user maps to (see migrate.Options.OwnerMap).
type Owned struct {
	ID       string // the ZenML secret id, lowercase with dashes: the entry's Ref
	Private  bool   // private (ZenML 0.80+) or user scope (before)
	UserID   string // the ZenML user (or service account) that owns it, when known
	UserName string // its name, when known
}

// AddLocation adds one more external name to it.Location, for an entry
// stored under several (one per key).
func (it *Item) AddLocation(name string) {
	if it.Location != "" {
		it.Location += ","
	}
	it.Location += name
}

// Entry is one legacy secret with its values.
type Entry struct {
	Name   string
	Schema string
	Values map[string]string // without zenml_schema_name; never nil
	Owned  *Owned            // set for an entry of ZenML's centralized store
}

// Source reads and deletes the entries of one legacy secrets manager.
// Implementations are safe for concurrent use and never put a value into an
// error; errors are classified with errcode.
type Source interface {
	// Describe returns the source's flavor, location and scope.
	Describe() Descriptor
	// List returns every entry the legacy manager would have listed, plus
	// the entries it finds that are skipped (with their reasons), sorted by
	// name. It never returns values.
	List(ctx context.Context) ([]Item, error)
	// Read returns the entry with the reference ref (Item.Ref: the ZenML
	// name, or the secret id of a centralized entry). Errors: not_found
	// when it does not exist in this scope; failed_precondition when it is
	// not a ZenML entry or cannot be read outside its platform (GitHub).
	Read(ctx context.Context, ref string) (*Entry, error)
	// Delete removes the entry (every per-key secret of it, for the legacy
	// per-key formats). Errors: not_found; failed_precondition for an entry
	// of ZenML's centralized store, which the migration never deletes.
	Delete(ctx context.Context, ref string) error
	// Close releases the source's resources.
	Close() error
}

// Opener opens a source from its URL. It must reject unknown parameters.
type Opener func(ctx context.Context, u *url.URL, d Descriptor) (Source, error)

var registry = openurl.NewRegistry[registered]("legacy source")

type registered struct {
	flavor   string
	scoped   bool
	open     Opener
	fromJSON func(cfg map[string]any, componentID string) (string, error) // component configuration to URL
}

// Flavor describes a legacy flavor for Register.
type Flavor struct {
	Name   string // ZenML's flavor string: local, aws, gcp, azure, vault, github
	Scoped bool   // whether the flavor supports scopes (default component) or not (always none)
	Open   Opener
	// URLFromConfig turns the component configuration (as ZenML stored it)
	// and the component id into this flavor's source URL, without scope
	// parameters.
	URLFromConfig func(cfg map[string]any, componentID string) (string, error)
}

// Register makes a flavor available under the scheme "zenml-<name>"; call it
// from an init function.
func Register(f Flavor) {
	registry.Register("zenml-"+f.Name, registered{flavor: f.Name, scoped: f.Scoped, open: f.Open, fromJSON: f.URLFromConfig})
}

// Open opens the source rawURL names. The parameters scope, component_uuid
// and namespace select the scope of flavors that have scopes; the scope
// defaults to component for them (ZenML's default), which then needs
// component_uuid. Errors are invalid_argument for a bad URL or parameters,
// or what the flavor's opener returns.
func Open(ctx context.Context, rawURL string) (Source, error) {
	reg, u, err := registry.Lookup(rawURL)
	if err != nil {
		return nil, err
	}
	d, err := parseScope(u, reg)
	if err != nil {
		return nil, err
	}
	return reg.open(ctx, u, d)
}

// Schemes lists the source schemes linked into this binary.
func Schemes() []string { return registry.Schemes() }

// ScopeParams are the URL parameters every scoped flavor accepts; openers
// pass them to openurl.CheckParams together with their own.
var ScopeParams = []string{"scope", "component_uuid", "namespace"}

func parseScope(u *url.URL, reg registered) (Descriptor, error) {
	q := u.Query()
	d := Descriptor{Flavor: reg.flavor}
	scope := q.Get("scope")
	if !reg.scoped {
		if scope != "" && scope != string(ScopeNone) {
			return d, errcode.New(errcode.InvalidArgument, "the %s flavor has no scopes; scope must be none", reg.flavor)
		}
		if q.Has("component_uuid") || q.Has("namespace") {
			return d, errcode.New(errcode.InvalidArgument, "the %s flavor has no scopes; drop component_uuid and namespace", reg.flavor)
		}
		d.Scope = ScopeNone
		return d, nil
	}
	if scope == "" {
		scope = string(ScopeComponent) // ZenML's default when the configuration has none
	}
	d.Scope = Scope(scope)
	switch d.Scope {
	case ScopeNone, ScopeGlobal:
	case ScopeComponent:
		id, err := uuid.Parse(q.Get("component_uuid"))
		if err != nil {
			return d, errcode.New(errcode.InvalidArgument, "scope component needs component_uuid, the secrets manager component's id (a UUID)")
		}
		d.ComponentUUID = id.String() // ZenML formats it lowercase with dashes
	case ScopeNamespace:
		d.Namespace = q.Get("namespace")
		if d.Namespace == "" {
			return d, errcode.New(errcode.InvalidArgument, "scope namespace needs a namespace parameter")
		}
	default:
		return d, errcode.New(errcode.InvalidArgument, "scope must be none, global, component or namespace, got %q", scope)
	}
	if d.Scope != ScopeComponent && q.Has("component_uuid") {
		return d, errcode.New(errcode.InvalidArgument, "component_uuid is only for scope component")
	}
	if d.Scope != ScopeNamespace && q.Has("namespace") {
		return d, errcode.New(errcode.InvalidArgument, "namespace is only for scope namespace")
	}
	return d, nil
}

// FromComponent returns the source URL of a legacy secrets manager given as
// ZenML stored it: the flavor, the component's configuration JSON (plain or
// base64, as in the stack_component table) and the component id (with or
// without dashes). Credentials in the configuration (Vault's token) are not
// copied into the URL; they must come from the environment. Errors are
// invalid_argument.
func FromComponent(flavor string, configuration []byte, componentID string) (string, error) {
	reg, ok := lookupFlavor(flavor)
	if !ok {
		return "", errcode.New(errcode.InvalidArgument, "unknown secrets manager flavor %q; known: %s", flavor, strings.Join(flavors(), ", "))
	}
	cfg, err := decodeConfiguration(configuration)
	if err != nil {
		return "", err
	}
	raw, err := reg.fromJSON(cfg, componentID)
	if err != nil {
		return "", err
	}
	if !reg.scoped {
		return raw, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errcode.Wrap(errcode.InvalidArgument, err, "bad %s configuration", flavor)
	}
	q := u.Query()
	scope, _ := cfg["scope"].(string)
	if scope == "" {
		scope = string(ScopeComponent)
	}
	q.Set("scope", scope)
	switch Scope(scope) {
	case ScopeComponent:
		id, err := uuid.Parse(componentID)
		if err != nil {
			return "", errcode.New(errcode.InvalidArgument, "scope component needs the component id (a UUID)")
		}
		q.Set("component_uuid", id.String())
	case ScopeNamespace:
		ns, _ := cfg["namespace"].(string)
		q.Set("namespace", ns)
	}
	base, _, _ := strings.Cut(raw, "?") // url.URL.String would drop the "//" of an empty host
	return base + "?" + q.Encode(), nil
}

func decodeConfiguration(b []byte) (map[string]any, error) {
	var cfg map[string]any
	trimmed := strings.TrimSpace(string(b))
	if !strings.HasPrefix(trimmed, "{") {
		if dec, err := decodeBase64(trimmed); err == nil {
			trimmed = string(dec)
		}
	}
	if err := json.Unmarshal([]byte(trimmed), &cfg); err != nil || cfg == nil {
		return nil, errcode.New(errcode.InvalidArgument, "component configuration must be a JSON object (or its base64, as ZenML stores it)")
	}
	return cfg, nil
}

func lookupFlavor(flavor string) (registered, bool) {
	reg, _, err := registry.Lookup("zenml-" + flavor + "://x")
	return reg, err == nil
}

func flavors() []string {
	var out []string
	for _, s := range registry.Schemes() {
		out = append(out, strings.TrimPrefix(s, "zenml-"))
	}
	return out
}

// ConfigString returns cfg[key] as a non-empty string, or invalid_argument
// naming the flavor and the field.
func ConfigString(cfg map[string]any, flavor, key string) (string, error) {
	s, _ := cfg[key].(string)
	if s == "" {
		return "", errcode.New(errcode.InvalidArgument, "%s secrets manager configuration needs %s", flavor, key)
	}
	return s, nil
}

// Decode splits a ZenML payload (a JSON object or a KV map) into its schema
// and its values: zenml_schema_name removed, every other value made a
// string by Stringify. ok is false when the payload has no string
// zenml_schema_name, that is, when it is not ZenML's.
func Decode(payload map[string]any) (schema string, values map[string]string, ok bool) {
	schema, ok = payload[SchemaKey].(string)
	if !ok {
		return "", nil, false
	}
	values = make(map[string]string, len(payload))
	for k, v := range payload {
		if k == SchemaKey || v == nil { // ZenML never stores None; a null carries no value
			continue
		}
		values[k] = Stringify(v)
	}
	return schema, values, true
}

// DecodeJSON parses a JSON payload and Decodes it. ok is false when the
// text is not a JSON object or has no zenml_schema_name.
func DecodeJSON(text []byte) (schema string, values map[string]string, ok bool) {
	var payload map[string]any
	dec := json.NewDecoder(strings.NewReader(string(text)))
	dec.UseNumber()
	if err := dec.Decode(&payload); err != nil || payload == nil {
		return "", nil, false
	}
	return Decode(payload)
}

// Stringify turns a JSON value into the string the central store keeps:
// strings unchanged; booleans as Python's str() wrote them ("True",
// "False"), because that is what ZenML's own migration stored; numbers in
// their JSON form; objects and arrays as compact JSON.
func Stringify(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// SortedKeys returns the sorted keys of values.
func SortedKeys(values map[string]string) []string {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CompleteItems finishes a listing of src: it reads every migratable item
// whose keys the listing could not see (an entry that keeps its values in
// one payload) to fill in its schema and keys, marks an item whose Read is
// refused with failed_precondition as skipped, with the error's message as
// the reason, and sorts the items (see SortItems). It returns any other
// error of Read.
func CompleteItems(ctx context.Context, src Source, items []Item) ([]Item, error) {
	for i := range items {
		if items[i].Status != Migratable || items[i].Keys != nil {
			continue
		}
		entry, err := src.Read(ctx, items[i].Ref())
		switch {
		case errcode.Is(err, errcode.FailedPrecondition):
			items[i].Status, items[i].Reason = Skipped, errcode.Message(err)
		case err != nil:
			return nil, err
		default:
			items[i].Schema, items[i].Keys = entry.Schema, SortedKeys(entry.Values)
		}
	}
	SortItems(items)
	return items, nil
}

// SortItems sorts items by name, then location.
func SortItems(items []Item) {
	sort.Slice(items, func(i, j int) bool {
		if items[i].Name != items[j].Name {
			return items[i].Name < items[j].Name
		}
		return items[i].Location < items[j].Location
	})
}

// IsCentralized reports whether external metadata marks an entry of ZenML's
// centralized secrets store (0.35 and later), which the migration must not
// treat as legacy: those carry zenml_secret_id / zenml_secret_scope rather
// than zenml_scope.
func IsCentralized(meta map[string]string) bool {
	_, id := meta["zenml_secret_id"]
	_, scope := meta["zenml_secret_scope"]
	return id || scope
}

// CentralizedReason is the reason given for skipping a centralized-store
// entry.
const CentralizedReason = "entry of ZenML's centralized secrets store, not of a legacy secrets manager"

// NotZenMLReason is the reason given for skipping an entry without
// zenml_schema_name.
const NotZenMLReason = "not a ZenML entry: no zenml_schema_name"

func decodeBase64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
