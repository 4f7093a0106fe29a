package dynamostore

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// Past versions without transactions.
//
// A past version is an item v#<id>#<version, 20 digits> holding a copy of
// the secret item as that version was (versionAttrs: metadata, change and
// the sealed values as they were sealed, AAD = id and that version). The
// secret item lists them itself:
//
//	past   M   the past versions kept: version -> its updated time (the
//	           "made" of secret.Retention)
//	prune  NS  versions dropped from past (or replaced without being kept)
//	           whose items may still exist
//
// Versions and GetVersion answer from past only, so an item that exists but
// is not listed there (not yet pruned, or written by a writer that lost) is
// never answered: when an update succeeds, exactly the versions its Keep
// keeps are answered. Listing on the secret item rather than with a global
// secondary index: the secret item is rewritten on every change anyway (so
// it costs no write), it is read consistently (an index is eventually
// consistent, and would answer a pruned version or miss a new one for a
// moment), and it needs no index a version item's sealed values would be
// written to.
//
// past costs the secret item about 40 bytes per kept version: the default
// retention (20) fits next to the largest secret the item size limit allows
// (TestWorstCaseEncodingFits), but with a retention of several hundred
// versions an update of a secret near MaxTotalSize can fail with too_large.
//
// An update of version n with Keep makes these steps:
//
//  1. read the secret item (consistent GetItem): version n, past, prune;
//  2. write the item of past version n as a copy of it, on condition that
//     no tombstone is there. A committed version is immutable, so every writer
//     that read version n writes the same item, and a copy of the version
//     that is still current is harmless. The copy is sent within ClaimHold
//     of step 1;
//  3. the conditional write of version n+1 (as without history: expected
//     version, claim, owner), setting past to the versions Keep keeps and
//     prune to the old prune plus the versions it dropped;
//  4. turn each version in prune into a tombstone (an UpdateItem that
//     removes everything but {gone, expires_at}; the table's TTL deletes it
//     after OrphanGrace), then remove those versions from prune.
//
// A crash between 2 and 3 leaves a copy of the current version: harmless,
// rewritten identically by the next writer. A crash in 4 leaves versions in
// prune: the next write tombstones them. So every version item that may
// exist for a version other than the current one is in past or in prune,
// and a purge finds them all.
//
// Tombstones, not deletes, because a writer that read version n before a
// faster writer committed n+1 and pruned n would otherwise write its copy of
// n afterwards and bring a pruned version's values back, unlisted. Its step
// 2 fails on the tombstone instead (the update fails with
// failed_precondition: version n is no longer current), and since step 2 is
// sent within ClaimHold of its read, which came before the prune, a
// tombstone that lives OrphanGrace (longer than ClaimHold plus clock skew)
// outlives every such writer. An update without Keep copies nothing but
// still drops version n into prune, for the same reason.
//
// A purge (Delete) first marks the secret item "purging" (conditionally, as
// the delete was; this also takes it out of the list indexes and drops its
// claim attribute), so no update can land any more and readers see
// not_found; then releases the claim, tombstones past, prune and the current
// version, and deletes the secret item last. A crash before the end leaves
// a purging item, which Expired returns so the scheduled purge finishes it.

// history is what an update does to the past versions of a secret.
type history struct {
	copy  bool                // keep version n: write its past version item first
	past  map[int64]time.Time // the past versions after the update
	prune []int64             // versions whose items go after the update
}

// planHistory decides, from the stored secret cur (version n), which past
// versions the update to s keeps (s.Keep; nil keeps what is there and not
// version n).
func planHistory(cur *stored, s *secret.Secret) history {
	n := cur.secret.Version
	h := history{past: map[int64]time.Time{}}
	all := map[int64]time.Time{n: cur.secret.Updated}
	for v, made := range cur.past {
		all[v] = made
	}
	for v, made := range all {
		keep := false
		if s.Keep != nil {
			keep = s.Keep.Keeps(s.Version, v, made)
		} else {
			keep = v != n
		}
		if keep {
			h.past[v] = made
		} else {
			h.prune = append(h.prune, v)
		}
	}
	_, h.copy = h.past[n]
	for _, v := range cur.prune {
		if _, kept := h.past[v]; !kept && v != n {
			h.prune = append(h.prune, v)
		}
	}
	return h
}

// attrs are the secret item's history attributes after the update.
func (h history) attrs() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPast: encodePast(h.past), attrPrune: encodeVersions(append([]int64(nil), h.prune...))}
}

// copyVersion is step 2: the past version item of cur, unless tombstoned.
// It is written with UpdateItem (an upsert that sets every attribute of
// the copy; a leftover copy of the same version holds the same ones), so
// that a soft delete, an update like any other, needs no PutItem grant. A
// failed condition means version n was pruned or purged, so it is no
// longer current: failed_precondition.
func (b *Backend) copyVersion(ctx context.Context, cur *stored) error {
	item := versionItem(cur)
	nm := names(attrGone)
	values := map[string]types.AttributeValue{}
	set := ""
	for a, v := range item {
		if a == attrPK {
			continue
		}
		ph := ":v" + strconv.Itoa(len(values))
		nm["#"+a], values[ph] = a, v
		if set != "" {
			set += ", "
		}
		set += "#" + a + " = " + ph
	}
	err := b.call(ctx, "keep the past version", func(ctx context.Context) error {
		_, err := b.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: b.table, Key: keyOf(getS(item, attrPK)),
			UpdateExpression:          aws.String("SET " + set),
			ConditionExpression:       aws.String("attribute_not_exists(#gone)"),
			ExpressionAttributeNames:  nm,
			ExpressionAttributeValues: values,
		})
		return err
	})
	if failed, _ := conditionFailed(err); failed {
		return errcode.New(errcode.FailedPrecondition, "secret %s changed concurrently", cur.secret.ID)
	}
	return err
}

// tombstone replaces the items of the versions of secret id with
// tombstones that the table's TTL removes after OrphanGrace.
func (b *Backend) tombstone(ctx context.Context, id string, versions []int64) error {
	if len(versions) == 0 {
		return nil
	}
	remove := ""
	nm := names(attrGone, attrExpiresAt)
	for _, a := range versionAttrs {
		nm["#"+a] = a
		if remove != "" {
			remove += ", "
		}
		remove += "#" + a
	}
	expires := b.now().Add(b.grace + time.Second).Unix()
	for _, v := range versions {
		err := b.call(ctx, "remove a past version", func(ctx context.Context) error {
			_, err := b.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: b.table, Key: keyOf(versionPK(id, v)),
				UpdateExpression:          aws.String("SET #gone = :gone, #expires_at = :expires REMOVE " + remove),
				ExpressionAttributeNames:  nm,
				ExpressionAttributeValues: map[string]types.AttributeValue{":gone": &types.AttributeValueMemberBOOL{Value: true}, ":expires": num(expires)},
			})
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// prune is step 4, best effort: what it leaves in the prune attribute, the
// next write or the purge removes.
func (b *Backend) prune(ctx context.Context, id string, versions []int64) {
	if len(versions) == 0 || b.tombstone(ctx, id, versions) != nil {
		return
	}
	_ = b.call(ctx, "forget pruned versions", func(ctx context.Context) error {
		_, err := b.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: b.table, Key: keyOf(secretPK(id)),
			UpdateExpression:          aws.String("DELETE #prune :done"),
			ConditionExpression:       aws.String("attribute_exists(#pk)"),
			ExpressionAttributeNames:  names(attrPK, attrPrune),
			ExpressionAttributeValues: map[string]types.AttributeValue{":done": encodeVersions(append([]int64(nil), versions...))},
		})
		if failed, _ := conditionFailed(err); failed {
			return nil
		}
		return err
	})
}

// Versions implements backend.Backend: one consistent GetItem of the
// secret, then the metadata of its past versions by BatchGetItem (100 a
// call, without the sealed values). A version pruned between the two reads
// is left out. Errors: not_found; unavailable; internal.
func (b *Backend) Versions(ctx context.Context, id string) ([]*secret.Secret, error) {
	cur, err := b.read(ctx, id)
	if err != nil {
		return nil, err
	}
	var past []int64
	for v := range cur.past {
		past = append(past, v)
	}
	sort.Slice(past, func(i, j int) bool { return past[i] > past[j] })
	found := map[int64]*secret.Secret{}
	for start := 0; start < len(past); start += 100 {
		if err := b.batchGetVersions(ctx, id, past[start:min(start+100, len(past))], found); err != nil {
			return nil, err
		}
	}
	out := []*secret.Secret{cur.secret}
	for _, v := range past {
		if s, ok := found[v]; ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// batchGetVersions reads the metadata of the past versions of id into found,
// skipping tombstones and missing items.
func (b *Backend) batchGetVersions(ctx context.Context, id string, versions []int64, found map[int64]*secret.Secret) error {
	keys := make([]map[string]types.AttributeValue, len(versions))
	for i, v := range versions {
		keys[i] = keyOf(versionPK(id, v))
	}
	proj, nm := "", names(attrGone)
	for _, a := range append([]string{attrGone}, versionAttrs...) {
		if a == attrSealed {
			continue
		}
		nm["#"+a] = a
		if proj != "" {
			proj += ", "
		}
		proj += "#" + a
	}
	for len(keys) > 0 {
		var out *dynamodb.BatchGetItemOutput
		err := b.call(ctx, "read past versions", func(ctx context.Context) error {
			var err error
			out, err = b.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				*b.table: {Keys: keys, ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String(proj), ExpressionAttributeNames: nm},
			}})
			return err
		})
		if err != nil {
			return err
		}
		for _, item := range out.Responses[*b.table] {
			if _, gone := item[attrGone]; gone {
				continue
			}
			st, err := decodeSecret(item)
			if err != nil {
				return err
			}
			found[st.secret.Version] = st.secret
		}
		keys = nil
		if u, ok := out.UnprocessedKeys[*b.table]; ok {
			keys = u.Keys // throttled: the retry policy's backoff is per call, so go again
		}
	}
	return nil
}

// GetVersion implements backend.Backend: one consistent GetItem of the
// secret, and for a past version one of its item, then the values are
// opened. Errors: not_found (no such secret, or a version not kept);
// unavailable; internal.
func (b *Backend) GetVersion(ctx context.Context, id string, version int64) (*secret.Secret, error) {
	cur, err := b.read(ctx, id)
	if err != nil {
		return nil, err
	}
	st := cur
	if version != cur.secret.Version {
		missing := errcode.New(errcode.NotFound, "secret %s has no version %d", id, version)
		if _, kept := cur.past[version]; !kept {
			return nil, missing
		}
		item, err := b.getItem(ctx, versionPK(id, version), "read a past version")
		if err != nil {
			return nil, err
		}
		if _, gone := item[attrGone]; item == nil || gone {
			return nil, missing // pruned since the first read
		}
		if st, err = decodeSecret(item); err != nil {
			return nil, err
		}
	}
	return b.open(ctx, st)
}

// open returns the secret of st with its values opened.
func (b *Backend) open(ctx context.Context, st *stored) (*secret.Secret, error) {
	if st.sealed != nil {
		var err error
		if st.secret.Values, err = b.sealer.Open(ctx, st.sealed, st.secret.ID, st.secret.Version); err != nil {
			return nil, err
		}
	}
	return st.secret, nil
}

// Expired implements backend.Backend: a Scan of the table, filtered on
// secret items that are deleted with purge_after before t, or whose purge
// was interrupted (purging), so that the purge of expired secrets finishes
// them; paged until limit items are found. It serves a scheduled purge, not
// a request, so a Scan is its cost: one read of the whole table per sweep.
// Errors: unavailable; internal.
func (b *Backend) Expired(ctx context.Context, t time.Time, limit int) ([]*secret.Secret, error) {
	proj, nm := "", names(attrPK, attrPurging)
	for _, a := range projected {
		nm["#"+a] = a
		if proj != "" {
			proj += ", "
		}
		proj += "#" + a
	}
	in := &dynamodb.ScanInput{
		TableName: b.table,
		FilterExpression: aws.String("begins_with(#pk, :secret) AND " +
			"((attribute_exists(#deleted) AND #purge_after < :t) OR attribute_exists(#purging))"),
		ProjectionExpression:     aws.String(proj),
		ExpressionAttributeNames: nm,
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":secret": str(prefixSecret), ":t": str(formatTime(t)),
		},
	}
	out := []*secret.Secret{}
	for len(out) < limit {
		var page *dynamodb.ScanOutput
		err := b.call(ctx, "find expired secrets", func(ctx context.Context) error {
			var err error
			page, err = b.db.Scan(ctx, in)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, item := range page.Items {
			st, err := decodeSecret(item)
			if err != nil {
				return nil, err
			}
			if len(out) < limit {
				out = append(out, st.secret)
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	return out, nil
}
