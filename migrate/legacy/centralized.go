package legacy

import (
	"encoding/json"
	"strings"

	"github.com/google/uuid"

	"github.com/lockwell/lockwell/shared/errcode"
)

// The metadata ZenML's centralized secrets store wrote on each secret in
// an AWS, GCP, Azure or Vault back end from 0.35 to 0.54.0, when the back
// end held the secret's metadata (see
// shared/reference/zenml-secrets-store.md, section 4.1). From 0.54.1 on only
// zenml and zenml_secret_id remain; name, scope and user are in the ZenML
// server's database.
const (
	TagServer    = "zenml"
	TagID        = "zenml_secret_id"
	TagName      = "zenml_secret_name"
	TagScope     = "zenml_secret_scope" // "workspace" or "user" (private)
	TagUser      = "zenml_secret_user"
	TagWorkspace = "zenml_secret_workspace"
)

// ValuesOnlyReason is the reason a centralized-store entry that carries
// only zenml and zenml_secret_id (ZenML 0.54.1 and later) is skipped.
const ValuesOnlyReason = "entry of ZenML's centralized secrets store (0.54.1+) that holds only values; its name, visibility and owner are in the ZenML server's database: migrate it with zenml-server:// (or zenml-sql:// for a SQL-backed server)"

// CentralOrigin is the origin a secret migrated from ZenML's centralized
// store records: flavor, location and the ZenML secret id, for example
// "zenml-server://zenml.example.com#centralized/6b3e…". It does not
// depend on a legacy scope, so runs with different scope parameters
// recognise each other's work.
func (d Descriptor) CentralOrigin(id string) string {
	return "zenml-" + d.Flavor + "://" + d.Location + "#centralized/" + id
}

// OriginOf returns what the secret migrated from entry e, read under ref,
// records: CentralOrigin for a centralized entry, else Origin.
func (d Descriptor) OriginOf(ref string, e *Entry) string {
	if e != nil && e.Owned != nil {
		return d.CentralOrigin(e.Owned.ID)
	}
	return d.Origin(ref)
}

// CentralizedItem returns the item for an entry whose metadata (tags or
// labels) IsCentralized, stored under the external name location: with a
// zenml_secret_name (0.35 to 0.54.0) it is migratable, referenced by its
// zenml_secret_id, private when its scope is user; without one (0.54.1+)
// it is skipped with ValuesOnlyReason.
func CentralizedItem(location string, meta map[string]string) Item {
	o, name, ok := centralOwned(meta)
	if !ok {
		return Item{Name: location, Location: location, Status: Skipped, Reason: ValuesOnlyReason}
	}
	return Item{Name: name, Location: location, Status: Migratable, Owned: o}
}

func centralOwned(meta map[string]string) (*Owned, string, bool) {
	id, err := uuid.Parse(meta[TagID])
	name := meta[TagName]
	if err != nil || name == "" {
		return nil, "", false
	}
	return &Owned{ID: id.String(), Private: strings.EqualFold(meta[TagScope], "user"), UserID: meta[TagUser]}, name, true
}

// CentralizedRef reports whether ref is a ZenML secret id, the reference
// of a centralized entry, and returns it normalised (lowercase, dashes).
func CentralizedRef(ref string) (string, bool) {
	id, err := uuid.Parse(ref)
	if err != nil || len(ref) != 36 {
		return "", false
	}
	return id.String(), true
}

// DecodeCentralized returns the entry of a centralized-store secret from
// its metadata and its payload: the JSON object of its values, as the
// back ends store json.dumps(values). Errors: not_found when the metadata
// is not the centralized entry id (another secret under that name);
// failed_precondition when it holds only values (ValuesOnlyReason);
// invalid_argument when the payload is not a JSON object.
func DecodeCentralized(id string, meta map[string]string, payload []byte) (*Entry, error) {
	o, name, ok := centralOwned(meta)
	if !IsCentralized(meta) || (ok && o.ID != id) {
		return nil, errcode.New(errcode.NotFound, "no entry of ZenML's centralized store with id %s", id)
	}
	if !ok {
		return nil, errcode.New(errcode.FailedPrecondition, ValuesOnlyReason)
	}
	var obj map[string]any
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, errcode.New(errcode.InvalidArgument, "the values of ZenML secret %s are not a JSON object", name)
	}
	values := make(map[string]string, len(obj))
	for k, v := range obj {
		if v != nil {
			values[k] = Stringify(v)
		}
	}
	return &Entry{Name: name, Values: values, Owned: o}, nil
}
