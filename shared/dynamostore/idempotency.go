package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// Idempotency records without transactions.
//
// A record is an item i#<key> that lives until its expiry (the table's TTL
// attribute expires_at removes it some time after; reads check the expiry
// themselves). A keyed write makes three steps:
//
//  1. put the record "pending", with the result the write will return and a
//     random attempt id, on condition that no unexpired record has the key
//     (else: backend.ErrIdempotencyKeyUsed);
//  2. write the secret, adding the key to the item's "pending" string set;
//     this write is sent only within ClaimHold of step 1;
//  3. mark the record "done", then remove the key from the item's set.
//
// A crash between the steps leaves a pending record. Whether its write
// landed is written in the secret item itself: the key stays in the item's
// pending set until step 3 (or whoever finishes it) removes it, and later
// updates keep the set (they SET other attributes). Deleting an item whose
// set is not empty first marks those records done, so the proof is never
// lost. A reader of a pending record younger than OrphanGrace cannot tell a
// crashed attempt from a slow one and answers unavailable (retry later);
// after OrphanGrace, when no write of that attempt can land any more, it
// finishes the record if the item holds the key and drops it otherwise, so
// the retry runs as a new request.
//
// Costs: a keyed create or update adds one PutItem and two UpdateItems; a
// retry answered from a done record is one GetItem.

const (
	prefixRecord  = "i#"
	attrState     = "state"
	attrRequest   = "request"
	attrOperation = "operation"
	attrResult    = "result"
	attrExpires   = "expires"
	attrExpiresAt = "expires_at" // the table's TTL attribute: Unix seconds
	attrAttempt   = "attempt"
	attrPending   = "pending" // on secret items: keys of unfinished records
	statePending  = "pending"
	stateDone     = "done"
)

func recordPK(key string) string { return prefixRecord + key }

// TTLAttribute is the attribute the table's time to live reads (template.yaml
// enables it), so expired idempotency records are deleted by DynamoDB.
const TTLAttribute = attrExpiresAt

// beginRecord is step 1. It returns the attempt id and when the attempt
// started (the moment ClaimHold counts from). Errors: already_exists
// wrapping backend.ErrIdempotencyKeyUsed; internal; unavailable.
func (b *Backend) beginRecord(ctx context.Context, r *secret.Idempotency) (string, time.Time, error) {
	result, err := json.Marshal(r.Result.Metadata())
	if err != nil {
		return "", time.Time{}, errcode.Wrap(errcode.Internal, err, "encode idempotency record")
	}
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	attempt := hex.EncodeToString(raw[:])
	start := time.Now()
	now := b.now()
	item := map[string]types.AttributeValue{
		attrPK: str(recordPK(r.Key)), attrState: str(statePending), attrRequest: str(r.Request),
		attrOperation: str(r.Operation), attrResult: str(string(result)), attrID: str(r.Result.ID),
		attrCreated: str(formatTime(r.Created)), attrExpires: str(formatTime(r.Expires)),
		attrExpiresAt: num(r.Expires.Unix()), attrAttempt: str(attempt), attrAt: str(formatTime(now)),
	}
	err = b.call(ctx, "save the idempotency record", func(ctx context.Context) error {
		_, err := b.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: b.table, Item: item,
			// An earlier try of this very call may have landed: the attempt
			// id tells.
			ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #expires <= :now OR #attempt = :attempt"),
			ExpressionAttributeNames:  names(attrPK, attrExpires, attrAttempt),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": str(formatTime(now)), ":attempt": str(attempt)},
		})
		return err
	})
	if failed, _ := conditionFailed(err); failed {
		return "", time.Time{}, errcode.Wrap(errcode.AlreadyExists, backend.ErrIdempotencyKeyUsed, "idempotency key already used")
	}
	return attempt, start, err
}

// settleRecord is step 3 after the write returned werr: on success the
// record is done, on a definite refusal it is dropped (nothing was stored),
// and when the write may or may not have landed it stays pending for a
// reader to resolve. Best effort, with its own deadline: a record left
// pending is resolved by Idempotency.
func (b *Backend) settleRecord(ctx context.Context, s *secret.Secret, attempt string, werr error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.attempt)
	defer cancel()
	key := s.Idempotency.Key
	switch {
	case werr == nil:
		if b.finishRecord(ctx, key, attempt) == nil {
			b.forgetPending(ctx, s.ID, key)
		}
	case errcode.Of(werr) != errcode.Unavailable:
		b.dropRecord(ctx, key, attempt)
	}
}

// finishRecord marks a pending record done; attempt "" finishes whichever
// attempt it is. Finishing a done record is not an error.
func (b *Backend) finishRecord(ctx context.Context, key, attempt string) error {
	cond := "#state = :pending"
	values := map[string]types.AttributeValue{":pending": str(statePending), ":done": str(stateDone)}
	nm := names(attrState)
	if attempt != "" {
		cond += " AND #attempt = :attempt"
		values[":attempt"] = str(attempt)
		nm = names(attrState, attrAttempt)
	}
	err := b.call(ctx, "finish the idempotency record", func(ctx context.Context) error {
		_, err := b.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: b.table, Key: keyOf(recordPK(key)),
			UpdateExpression:          aws.String("SET #state = :done"),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeNames:  nm,
			ExpressionAttributeValues: values,
		})
		return err
	})
	if failed, _ := conditionFailed(err); failed {
		return nil // done already, or replaced after expiry
	}
	return err
}

// dropRecord deletes a pending record of the attempt.
func (b *Backend) dropRecord(ctx context.Context, key, attempt string) {
	_ = b.call(ctx, "drop the idempotency record", func(ctx context.Context) error {
		_, err := b.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: b.table, Key: keyOf(recordPK(key)),
			ConditionExpression:       aws.String("#state = :pending AND #attempt = :attempt"),
			ExpressionAttributeNames:  names(attrState, attrAttempt),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pending": str(statePending), ":attempt": str(attempt)},
		})
		if failed, _ := conditionFailed(err); failed {
			return nil
		}
		return err
	})
}

// forgetPending removes finished record keys from a secret item's pending
// set. Best effort: a key left there is finished again, harmlessly.
func (b *Backend) forgetPending(ctx context.Context, id string, keys ...string) {
	_ = b.call(ctx, "clear the finished write", func(ctx context.Context) error {
		_, err := b.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: b.table, Key: keyOf(secretPK(id)),
			UpdateExpression:          aws.String("DELETE #pending :keys"),
			ConditionExpression:       aws.String("attribute_exists(#pk)"),
			ExpressionAttributeNames:  names(attrPK, attrPending),
			ExpressionAttributeValues: map[string]types.AttributeValue{":keys": &types.AttributeValueMemberSS{Value: keys}},
		})
		if failed, _ := conditionFailed(err); failed {
			return nil
		}
		return err
	})
}

// finishPendingOf finishes the records whose keys a secret item is about to
// lose (it is being deleted), then clears them from the item.
func (b *Backend) finishPendingOf(ctx context.Context, id string, keys []string) error {
	for _, k := range keys {
		if err := b.finishRecord(ctx, k, ""); err != nil {
			return err
		}
	}
	b.forgetPending(ctx, id, keys...)
	return nil
}

// pendingKeys reads a secret item's pending set.
func pendingKeys(item map[string]types.AttributeValue) []string {
	if ss, ok := item[attrPending].(*types.AttributeValueMemberSS); ok {
		return ss.Value
	}
	return nil
}

// Idempotency implements backend.Backend: one consistent GetItem; a pending
// record older than OrphanGrace is resolved as the package doc says (one
// GetItem of the secret and one write more). Errors: not_found; unavailable
// while a pending record may still be in flight; internal.
func (b *Backend) Idempotency(ctx context.Context, key string) (*secret.Idempotency, error) {
	item, err := b.getItem(ctx, recordPK(key), "read the idempotency record")
	if err != nil {
		return nil, err
	}
	none := errcode.New(errcode.NotFound, "no idempotency record")
	if item == nil {
		return nil, none
	}
	r, err := decodeRecord(key, item)
	if err != nil {
		return nil, err
	}
	now := b.now()
	if !now.Before(r.Expires) {
		return nil, none
	}
	if getS(item, attrState) == stateDone {
		return r, nil
	}
	started, err := parseTime(getS(item, attrAt))
	if err != nil {
		return nil, errcode.New(errcode.Internal, "stored idempotency record has a bad start time")
	}
	if now.Sub(started) < b.grace {
		return nil, errcode.New(errcode.Unavailable, "a request with this Idempotency-Key is still in progress or was interrupted; retry in a few minutes")
	}
	attempt := getS(item, attrAttempt)
	sec, err := b.getItem(ctx, secretPK(r.Result.ID), "check an interrupted write")
	if err != nil {
		return nil, err
	}
	if sec != nil && slices.Contains(pendingKeys(sec), key) {
		if err := b.finishRecord(ctx, key, attempt); err != nil {
			return nil, err
		}
		b.forgetPending(ctx, r.Result.ID, key)
		return r, nil
	}
	b.dropRecord(ctx, key, attempt)
	return nil, none
}

func decodeRecord(key string, item map[string]types.AttributeValue) (*secret.Idempotency, error) {
	bad := errcode.New(errcode.Internal, "stored idempotency record does not decode")
	r := &secret.Idempotency{Key: key, Request: getS(item, attrRequest), Operation: getS(item, attrOperation), Result: &secret.Secret{}}
	if err := json.Unmarshal([]byte(getS(item, attrResult)), r.Result); err != nil {
		return nil, bad
	}
	var err error
	if r.Created, err = parseTime(getS(item, attrCreated)); err != nil {
		return nil, bad
	}
	if r.Expires, err = parseTime(getS(item, attrExpires)); err != nil {
		return nil, bad
	}
	return r, nil
}

// withRecord runs write, the secret write of s, between steps 1 and 3 when
// s carries an idempotency record; write must not be sent after ClaimHold
// from step 1, which its context's deadline enforces.
func (b *Backend) withRecord(ctx context.Context, s *secret.Secret, write func(ctx context.Context) error) error {
	if s.Idempotency == nil {
		return write(ctx)
	}
	attempt, started, err := b.beginRecord(ctx, s.Idempotency)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithDeadline(ctx, started.Add(b.hold))
	defer cancel()
	err = write(wctx)
	b.settleRecord(ctx, s, attempt, err)
	return err
}
