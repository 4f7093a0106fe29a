package dynamostore

import (
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
)

// The global secondary indexes, one per sort order, all partitioned by
// scope. They project the metadata (never the sealed values).
const (
	indexByName    = "by-name"
	indexByCreated = "by-created"
	indexByUpdated = "by-updated"
)

// projected are the non-key attributes every index carries: what a list
// item needs.
var projected = []string{attrID, attrName, attrPrivate, attrOwner, attrKeys, attrVersion, attrCreated, attrUpdated, attrOrigin, attrChangeKey, attrValuesRef}

// Key prefixes. The partition key alone identifies an item (the table has
// no sort key).
const (
	prefixSecret = "s#"
	prefixClaim  = "n#"
	prefixToken  = "t#"
	scopePublic  = "pub"
	scopePrivate = "prv#"
)

func secretPK(id string) string { return prefixSecret + id }

// scopeOf is the uniqueness scope and list partition of a secret: all public
// secrets share one, each owner's private secrets have their own.
func scopeOf(private bool, owner string) string {
	if private {
		return scopePrivate + owner
	}
	return scopePublic
}

// claimPK is the key of the item that reserves a name in a scope. Names
// never contain '#', so the last '#' separates scope and name.
func claimPK(s *secret.Secret) string {
	return prefixClaim + scopeOf(s.Private, s.Owner) + "#" + s.Name
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
		attrName:      str(s.Name),
		attrPrivate:   &types.AttributeValueMemberBOOL{Value: s.Private},
		attrKeys:      keysList(keys),
		attrVersion:   num(s.Version),
		attrUpdated:   str(formatTime(s.Updated)),
		attrClaim:     str(claimPK(s)),
		attrScope:     str(scopeOf(s.Private, s.Owner)),
		attrNameKey:   str(sortKey(s.Name, s.ID)),
		attrUpdKey:    str(sortKey(formatTime(s.Updated), s.ID)),
		attrOrigin:    optional(s.Origin),
		attrChangeKey: optional(s.ChangeKey),
		attrValuesRef: optional(s.ValuesRef),
		attrSealed:    nil,
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

// stored is a decoded secret item.
type stored struct {
	secret  *secret.Secret // Values nil
	sealed  []byte
	claim   string
	pending []string // keys of idempotency records not known to be finished
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
	out := &stored{secret: s, claim: getS(item, attrClaim), pending: pendingKeys(item)}
	if b, ok := item[attrSealed].(*types.AttributeValueMemberB); ok {
		out.sealed = b.Value
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
