package dynamostore

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// Attribute names. Readable, because operators read items; the few bytes
// they cost per item are not worth obscurity.
const (
	attrPK        = "pk"
	attrID        = "id"
	attrName      = "name"
	attrPrivate   = "private"
	attrOwner     = "owner"
	attrKeys      = "keys"
	attrVersion   = "version"
	attrCreated   = "created"
	attrUpdated   = "updated"
	attrOrigin    = "origin"
	attrChangeKey = "change_key"
	attrValuesRef = "values_ref"
	attrSealed    = "sealed"
	attrClaim     = "claim"
	attrScope     = "scope"
	attrNameKey   = "name_key"
	attrCreKey    = "created_key"
	attrUpdKey    = "updated_key"
	attrAt        = "at"
	attrUser      = "user"
	attrRole      = "role"

	// History and the recovery window (see history.go).
	attrDeleted    = "deleted"     // S, timeLayout; absent when live
	attrPurgeAfter = "purge_after" // S, timeLayout; absent when live
	attrChange     = "change"      // S, the JSON encoding of secret.Change
	attrPast       = "past"        // M, on secret items: kept past version -> its updated time
	attrPrune      = "prune"       // NS, on secret items: dropped versions whose items may remain
	attrPurging    = "purging"     // S, timeLayout: a purge started; the item is gone for readers
	attrGone       = "gone"        // BOOL, on version items: a tombstone
)

// Attributes of a secret item that the change-event stream function reads
// from the table's stream (NEW_AND_OLD_IMAGES). A contract with that
// function: renaming one is a breaking change.
//
//	pk           S   "s#<id>" for secret items; the stream also carries
//	                 claims (n#), tokens (t#), idempotency records (i#),
//	                 past versions and tombstones (v#): skip those
//	id           S   the secret id
//	name         S   its name
//	private      BOOL
//	owner        S
//	version      N   1 at creation, +1 on every change (delete and
//	                 restore included); a MODIFY image with the same
//	                 version as its old image is bookkeeping (an idempotency
//	                 key cleared, pruned versions forgotten), not a change
//	updated      S   when this version was made (timeLayout)
//	deleted      S   when it was moved into the recovery window
//	                 (timeLayout); absent when live
//	purge_after  S   when it may be purged (timeLayout); absent when live
//	change       S   the JSON encoding of secret.Change: operation
//	                 (create, update, rollback, delete, restore, migrate),
//	                 principal, key names added/removed/changed, from
//	purging      S   set when a purge starts (the secret is gone for
//	                 readers from then on); the REMOVE of the item ends it
//
// Never a value: the values are in "sealed", encrypted, and the stream
// function must not read that attribute.

// The global secondary indexes, one per sort order, all partitioned by
// scope. They project the metadata (never the sealed values).
const (
	indexByName    = "by-name"
	indexByCreated = "by-created"
	indexByUpdated = "by-updated"
)

// projected are the non-key attributes every index carries: what a list
// item needs.
var projected = []string{attrID, attrName, attrPrivate, attrOwner, attrKeys, attrVersion, attrCreated, attrUpdated, attrOrigin, attrChangeKey, attrValuesRef, attrDeleted, attrPurgeAfter}

// Key prefixes. The partition key alone identifies an item (the table has
// no sort key).
const (
	prefixSecret = "s#"
	prefixClaim  = "n#"
	prefixToken  = "t#"
	prefixPast   = "v#"
	scopePublic  = "pub"
	scopePrivate = "prv#"
	scopeDeleted = "del#" // prefixed to the scope of a secret in the recovery window
)

func secretPK(id string) string { return prefixSecret + id }

// versionPK is the key of the item of a past version: the version number is
// zero-padded so that keys sort as versions do.
func versionPK(id string, version int64) string {
	return fmt.Sprintf("%s%s#%020d", prefixPast, id, version)
}

// scopeOf is the uniqueness scope and list partition of a secret: all public
// secrets share one, each owner's private secrets have their own.
func scopeOf(private bool, owner string) string {
	if private {
		return scopePrivate + owner
	}
	return scopePublic
}

// listScope is the list partition of s: its scope, or for a deleted secret
// the scope prefixed with "del#", so that deleted secrets stay out of live
// listings and have listings of their own on the same indexes.
func listScope(s *secret.Secret) string {
	if s.IsDeleted() {
		return scopeDeleted + scopeOf(s.Private, s.Owner)
	}
	return scopeOf(s.Private, s.Owner)
}

// claimPK is the key of the item that reserves a name in a scope. Names
// never contain '#', so the last '#' separates scope and name.
func claimPK(s *secret.Secret) string {
	return prefixClaim + scopeOf(s.Private, s.Owner) + "#" + s.Name
}

// claimOf is the claim s holds: its claimPK, or "" for a deleted secret,
// which holds no name.
func claimOf(s *secret.Secret) string {
	if s.IsDeleted() {
		return ""
	}
	return claimPK(s)
}

// timeLayout is fixed-width UTC with nanoseconds, so that strings sort as
// times do (years 0000 to 9999).
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) { return time.Parse(timeLayout, s) }

// sortKey joins a sort value and an id. '#' sorts below every character a
// name may hold, and times are fixed width, so comparing keys as strings is
// comparing (value, id) pairs.
func sortKey(value, id string) string { return value + "#" + id }

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func keyOf(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(pk)}
}

func keysList(keys []string) types.AttributeValue {
	l := make([]types.AttributeValue, len(keys))
	for i, k := range keys {
		l[i] = str(k)
	}
	return &types.AttributeValueMemberL{Value: l}
}

// secretItem is the full item of a secret version; sealed is nil for an
// index entry whose values live elsewhere.
func secretItem(s *secret.Secret, sealed []byte) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrPK:      str(secretPK(s.ID)),
		attrID:      str(s.ID),
		attrOwner:   str(s.Owner),
		attrCreated: str(formatTime(s.Created)),
		attrCreKey:  str(sortKey(formatTime(s.Created), s.ID)),
	}
	for k, v := range mutableAttrs(s, sealed) {
		if v != nil {
			item[k] = v
		}
	}
	if s.Idempotency != nil {
		item[attrPending] = &types.AttributeValueMemberSS{Value: []string{s.Idempotency.Key}}
	}
	return item
}

// mutableAttrs are the attributes an update rewrites; a nil value means the
// attribute is removed.
func mutableAttrs(s *secret.Secret, sealed []byte) map[string]types.AttributeValue {
	keys := s.Keys
	if keys == nil {
		keys = []string{}
	}
	m := map[string]types.AttributeValue{
		attrName:       str(s.Name),
		attrPrivate:    &types.AttributeValueMemberBOOL{Value: s.Private},
		attrKeys:       keysList(keys),
		attrVersion:    num(s.Version),
		attrUpdated:    str(formatTime(s.Updated)),
		attrClaim:      optional(claimOf(s)),
		attrScope:      str(listScope(s)),
		attrNameKey:    str(sortKey(s.Name, s.ID)),
		attrUpdKey:     str(sortKey(formatTime(s.Updated), s.ID)),
		attrOrigin:     optional(s.Origin),
		attrChangeKey:  optional(s.ChangeKey),
		attrValuesRef:  optional(s.ValuesRef),
		attrSealed:     nil,
		attrDeleted:    nil,
		attrPurgeAfter: nil,
		attrChange:     str(encodeChange(s.Change)),
	}
	if s.IsDeleted() {
		m[attrDeleted] = str(formatTime(s.Deleted))
		m[attrPurgeAfter] = str(formatTime(s.PurgeAfter))
	}
	if sealed != nil {
		m[attrSealed] = &types.AttributeValueMemberB{Value: sealed}
	}
	return m
}

func optional(v string) types.AttributeValue {
	if v == "" {
		return nil
	}
	return str(v)
}

func encodeChange(c secret.Change) string {
	b, _ := json.Marshal(c) // strings and a number: cannot fail
	return string(b)
}

// stored is a decoded secret item (or past version item).
type stored struct {
	secret  *secret.Secret // Values nil
	sealed  []byte
	claim   string
	pending []string // keys of idempotency records not known to be finished
	past    map[int64]time.Time
	prune   []int64
	purging bool
	item    map[string]types.AttributeValue // as read
}

func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// decodeSecret reads a secret item (or an index projection of one).
func decodeSecret(item map[string]types.AttributeValue) (*stored, error) {
	id := getS(item, attrID)
	bad := func(what string) error {
		return errcode.New(errcode.Internal, "stored item of secret %s has a bad %s attribute", id, what)
	}
	s := &secret.Secret{
		ID: id, Name: getS(item, attrName), Owner: getS(item, attrOwner),
		Origin: getS(item, attrOrigin), ChangeKey: getS(item, attrChangeKey), ValuesRef: getS(item, attrValuesRef),
		Keys: []string{},
	}
	if id == "" || s.Name == "" {
		return nil, bad("id or name")
	}
	p, ok := item[attrPrivate].(*types.AttributeValueMemberBOOL)
	if !ok {
		return nil, bad(attrPrivate)
	}
	s.Private = p.Value
	v, ok := item[attrVersion].(*types.AttributeValueMemberN)
	if !ok {
		return nil, bad(attrVersion)
	}
	var err error
	if s.Version, err = strconv.ParseInt(v.Value, 10, 64); err != nil {
		return nil, bad(attrVersion)
	}
	if s.Created, err = parseTime(getS(item, attrCreated)); err != nil {
		return nil, bad(attrCreated)
	}
	if s.Updated, err = parseTime(getS(item, attrUpdated)); err != nil {
		return nil, bad(attrUpdated)
	}
	if l, ok := item[attrKeys].(*types.AttributeValueMemberL); ok {
		for _, k := range l.Value {
			ks, ok := k.(*types.AttributeValueMemberS)
			if !ok {
				return nil, bad(attrKeys)
			}
			s.Keys = append(s.Keys, ks.Value)
		}
	}
	if v := getS(item, attrDeleted); v != "" {
		if s.Deleted, err = parseTime(v); err != nil {
			return nil, bad(attrDeleted)
		}
		if s.PurgeAfter, err = parseTime(getS(item, attrPurgeAfter)); err != nil {
			return nil, bad(attrPurgeAfter)
		}
	}
	if v := getS(item, attrChange); v != "" {
		if json.Unmarshal([]byte(v), &s.Change) != nil {
			return nil, bad(attrChange)
		}
	}
	out := &stored{secret: s, claim: getS(item, attrClaim), pending: pendingKeys(item), purging: getS(item, attrPurging) != "", item: item}
	if b, ok := item[attrSealed].(*types.AttributeValueMemberB); ok {
		out.sealed = b.Value
	}
	if out.past, err = decodePast(item); err != nil {
		return nil, bad(attrPast)
	}
	if ns, ok := item[attrPrune].(*types.AttributeValueMemberNS); ok {
		for _, n := range ns.Value {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				return nil, bad(attrPrune)
			}
			out.prune = append(out.prune, v)
		}
	}
	return out, nil
}

// claimInfo is a decoded claim item.
type claimInfo struct {
	id string
	at string
}

func decodeClaim(item map[string]types.AttributeValue) *claimInfo {
	if item == nil {
		return nil
	}
	return &claimInfo{id: getS(item, attrID), at: getS(item, attrAt)}
}

// decodePast reads a secret item's past attribute: version -> made.
func decodePast(item map[string]types.AttributeValue) (map[int64]time.Time, error) {
	out := map[int64]time.Time{}
	m, ok := item[attrPast].(*types.AttributeValueMemberM)
	if !ok {
		return out, nil
	}
	for k, v := range m.Value {
		n, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			return nil, err
		}
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return nil, strconv.ErrSyntax
		}
		if out[n], err = parseTime(s.Value); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// encodePast is the past attribute of the kept versions; nil (removed) when
// none is kept.
func encodePast(past map[int64]time.Time) types.AttributeValue {
	if len(past) == 0 {
		return nil
	}
	m := make(map[string]types.AttributeValue, len(past))
	for v, made := range past {
		m[strconv.FormatInt(v, 10)] = str(formatTime(made))
	}
	return &types.AttributeValueMemberM{Value: m}
}

// encodeVersions is a number set of versions; nil (removed) when empty.
func encodeVersions(vs []int64) types.AttributeValue {
	if len(vs) == 0 {
		return nil
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	ns := make([]string, len(vs))
	for i, v := range vs {
		ns[i] = strconv.FormatInt(v, 10)
	}
	return &types.AttributeValueMemberNS{Value: ns}
}

// versionAttrs are the attributes of a secret item that its past version
// item copies: the version as it was, sealed values included. The list
// keys, the claim and the bookkeeping (pending, past, prune) stay behind, so
// a past version is in no index and holds no name.
var versionAttrs = []string{
	attrID, attrName, attrPrivate, attrOwner, attrKeys, attrVersion, attrCreated, attrUpdated,
	attrOrigin, attrChangeKey, attrValuesRef, attrSealed, attrDeleted, attrPurgeAfter, attrChange,
}

// versionItem is the past version item of the secret item as read: the same
// content for every writer that read this version.
func versionItem(cur *stored) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{attrPK: str(versionPK(cur.secret.ID, cur.secret.Version))}
	for _, a := range versionAttrs {
		if v, ok := cur.item[a]; ok {
			item[a] = v
		}
	}
	return item
}
