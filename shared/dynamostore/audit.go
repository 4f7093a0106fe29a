package dynamostore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/errcode"
)

// The audit chain in the table (audit.Storage): record n is the item
// a#<n, 19 digits>, written with attribute_not_exists(pk), so of two writers
// racing for a sequence one loses. DynamoDB's transactions (which dynalite
// lacks) are not needed: a batch is written in sequence order and stops at
// the first lost race, so what is stored is always a prefix of it, chained
// to what was there. The item a#head holds a recent head sequence (a hint,
// raised after each batch); AuditHead reads on from it until an item is
// missing. Reads fetch items by sequence (the table has no sort key).
var _ audit.Storage = (*Backend)(nil)

const (
	prefixAudit  = "a#"
	auditHeadPK  = prefixAudit + "head"
	attrSeq      = "seq"
	attrMAC      = "mac"
	attrPhase    = "phase"
	attrOp       = "operation"
	attrReqID    = "request_id"
	attrSecretID = "secret_id"
	attrSecName  = "secret_name"
	attrTokenID  = "token_id"
	attrTokUser  = "token_user"
	attrOutcome  = "outcome"
	attrClient   = "client_addr"
	attrAgent    = "user_agent"
)

// SetAuditRetention makes audit records written from now on expire d after
// their time (0: kept until deleted). Call it once, before use.
func (b *Backend) SetAuditRetention(d time.Duration) { b.auditTTL = max(d, 0) }

func auditPK(seq int64) string { return fmt.Sprintf("%s%019d", prefixAudit, seq) }

func auditItem(r *audit.Record, ttl time.Duration) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrPK: str(auditPK(r.Seq)), attrSeq: num(r.Seq), attrAt: str(formatTime(r.Time)),
		attrUser: str(r.Principal), attrOp: str(r.Operation), attrPhase: str(r.Phase),
		attrVersion: num(r.Version), attrMAC: str(r.MAC),
	}
	if ttl > 0 {
		item[attrExpiresAt] = num(r.Time.Add(ttl).Unix())
	}
	for name, v := range map[string]string{
		attrRole: r.Role, attrReqID: r.RequestID, attrSecretID: r.SecretID, attrSecName: r.SecretName,
		attrTokenID: r.TokenID, attrTokUser: r.TokenUser, attrOutcome: r.Outcome, attrClient: r.ClientAddr, attrAgent: r.UserAgent,
	} {
		if v != "" { // DynamoDB keys aside, empty strings are allowed; leaving them out keeps items small
			item[name] = str(v)
		}
	}
	return item
}

func getN(item map[string]types.AttributeValue, name string) (int64, error) {
	n, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, errcode.New(errcode.Internal, "audit item has no number %s", name)
	}
	return strconv.ParseInt(n.Value, 10, 64)
}

func decodeAudit(item map[string]types.AttributeValue) (audit.Record, error) {
	var r audit.Record
	var err error
	if r.Seq, err = getN(item, attrSeq); err != nil {
		return r, err
	}
	if r.Version, err = getN(item, attrVersion); err != nil {
		return r, err
	}
	if r.Time, err = parseTime(getS(item, attrAt)); err != nil {
		return r, errcode.Wrap(errcode.Internal, err, "audit item %d has a bad time", r.Seq)
	}
	r.Principal, r.Role, r.Operation, r.Phase = getS(item, attrUser), getS(item, attrRole), getS(item, attrOp), getS(item, attrPhase)
	r.RequestID, r.SecretID, r.SecretName = getS(item, attrReqID), getS(item, attrSecretID), getS(item, attrSecName)
	r.TokenID, r.TokenUser, r.Outcome = getS(item, attrTokenID), getS(item, attrTokUser), getS(item, attrOutcome)
	r.ClientAddr, r.UserAgent, r.MAC = getS(item, attrClient), getS(item, attrAgent), getS(item, attrMAC)
	r.Time = r.Time.UTC()
	return r, nil
}

// getAudit reads record seq; nil when it is missing.
func (b *Backend) getAudit(ctx context.Context, seq int64) (*audit.Record, error) {
	item, err := b.getItem(ctx, auditPK(seq), "read the audit log")
	if err != nil || item == nil {
		return nil, err
	}
	r, err := decodeAudit(item)
	return &r, err
}

// AppendAudit implements audit.Storage: one conditional put per record, in
// order, stopping at the first lost race.
func (b *Backend) AppendAudit(ctx context.Context, after int64, recs []audit.Record) (int, error) {
	for i := range recs {
		r := &recs[i]
		if r.Seq != after+1+int64(i) {
			return i, errcode.New(errcode.Internal, "audit records must be consecutive from %d", after+1)
		}
		err := b.call(ctx, "append to the audit log", func(ctx context.Context) error {
			_, err := b.db.PutItem(ctx, &dynamodb.PutItemInput{
				TableName: b.table, Item: auditItem(r, b.auditTTL),
				ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
				ExpressionAttributeNames: names(attrPK),
			})
			return err
		})
		if errcode.Is(err, errcode.FailedPrecondition) {
			// Taken: by another writer, or by an earlier attempt of this
			// put whose answer was lost (then the stored MAC is ours).
			got, gerr := b.getAudit(ctx, r.Seq)
			if gerr != nil {
				return i, gerr
			}
			if got == nil || got.MAC != r.MAC {
				return i, audit.ErrConflict
			}
			err = nil
		}
		if err != nil {
			return i, err
		}
	}
	if len(recs) > 0 {
		b.raiseAuditHead(ctx, recs[len(recs)-1].Seq)
	}
	return len(recs), nil
}

// raiseAuditHead raises the head hint to seq; a failure only makes the
// next AuditHead read a little further.
func (b *Backend) raiseAuditHead(ctx context.Context, seq int64) {
	_ = b.call(ctx, "raise the audit head", func(ctx context.Context) error {
		_, err := b.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: b.table, Key: keyOf(auditHeadPK),
			UpdateExpression:          aws.String("SET #seq = :s"),
			ConditionExpression:       aws.String("attribute_not_exists(#seq) OR #seq < :s"),
			ExpressionAttributeNames:  names(attrSeq),
			ExpressionAttributeValues: map[string]types.AttributeValue{":s": num(seq)},
		})
		if ok, _ := conditionFailed(err); ok {
			return nil
		}
		return err
	})
}

// auditHeadSeq returns the sequence of the last stored record and the record
// (nil for an empty chain).
func (b *Backend) auditHeadSeq(ctx context.Context) (*audit.Record, error) {
	item, err := b.getItem(ctx, auditHeadPK, "read the audit head")
	if err != nil {
		return nil, err
	}
	var seq int64
	if item != nil {
		if seq, err = getN(item, attrSeq); err != nil {
			return nil, err
		}
	}
	var head *audit.Record
	if seq > 0 {
		if head, err = b.getAudit(ctx, seq); err != nil {
			return nil, err
		}
	}
	for {
		next, err := b.getAudit(ctx, seq+1)
		if err != nil {
			return nil, err
		}
		if next == nil {
			return head, nil
		}
		head, seq = next, seq+1
	}
}

// AuditHead implements audit.Storage.
func (b *Backend) AuditHead(ctx context.Context) (*audit.Record, error) {
	return b.auditHeadSeq(ctx)
}

// ReadAudit implements audit.Storage: records are read by sequence from
// q.After+1 up to the head (with q.Newest, from below q.Before or the head
// down to 1) and filtered here; records removed by the table's TTL are
// skipped.
func (b *Backend) ReadAudit(ctx context.Context, q audit.Query) ([]audit.Record, error) {
	head, err := b.auditHeadSeq(ctx)
	if err != nil {
		return nil, err
	}
	out := []audit.Record{}
	if head == nil {
		return out, nil
	}
	first, last, step := q.After+1, head.Seq, int64(1)
	if q.Newest {
		first, last, step = head.Seq, 1, -1
		if q.Before > 0 {
			first = min(first, q.Before-1)
		}
	}
	for seq := first; seq*step <= last*step && len(out) < q.Limit; seq += step {
		r, err := b.getAudit(ctx, seq)
		if err != nil {
			return nil, err
		}
		if r != nil && q.Filter.Match(r) {
			out = append(out, *r)
		}
	}
	return out, nil
}
