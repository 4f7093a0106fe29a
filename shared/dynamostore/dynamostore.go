// Package dynamostore is the DynamoDB backend, the central store of the AWS
// deployment: a complete backend (metadata and sealed values in one item)
// over github.com/aws/aws-sdk-go-v2/service/dynamodb. It registers the URL
// scheme "dynamodb":
//
//	dynamodb://lockwell-secrets?region=eu-west-1
//	dynamodb://lockwell-dev?create_table=true      (tests, make dev)
//
// Parameters: region (else the SDK's default chain) and create_table (create
// the table with its indexes when missing and wait until it is active; for
// development, deployments create it in template.yaml). Unknown parameters
// are rejected. Credentials come only from the SDK's default chain; the
// endpoint can be overridden with the SDK's standard AWS_ENDPOINT_URL_DYNAMODB
// (or AWS_ENDPOINT_URL), which is how tests reach dynalite.
//
// # Table design
//
// One table, partition key "pk" (string), no sort key, PAY_PER_REQUEST, a
// stream of new and old images (change events; items.go lists the
// attributes they read). These kinds of items:
//
//	s#<id>                  the secret: metadata, the key names, and the values
//	                        sealed by the envelope Sealer (AAD = id and version);
//	                        plus its list keys (below), "claim", the pk of
//	                        the name reservation it holds (none while deleted),
//	                        and the list of its past versions (history.go)
//	v#<id>#<version>        a past version: a copy of the secret item as that
//	                        version was, sealed values included, in no index;
//	                        or a tombstone of a pruned one (history.go)
//	n#pub#<name>            a name reservation ("claim") of a public name, or
//	n#prv#<owner>#<name>    of an owner's private name: {id, at}
//	t#<sha256 hex>          an API token: {user, role, created, id} (identity.TokenStore;
//	                        tokens.go says how the list indexes hold them)
//	i#<key>                 an idempotency record (idempotency.go)
//	a#<seq, 19 digits>      an audit record; a#head a hint of the chain's head (audit.go)
//	a#key                   the audit chain's key, wrapped by the store key (auditkey.go)
//
// Every secret item carries "scope" ("pub", or "prv#<owner>"; for a secret
// in the recovery window "del#pub" or "del#prv#<owner>", so that deleted
// secrets are listed only by deleted listings, on the same indexes) and three
// sort keys: name_key = name#id, created_key = created#id and updated_key =
// updated#id, with times as fixed-width UTC strings, so string order is the
// API's order with ties broken by id. Three global secondary indexes,
// by-name, by-created and by-updated, are partitioned by scope and sorted
// by these keys; they project the metadata only (never "sealed"). Claims
// lack the attributes and stay out of them; token items enter by-created and
// by-name under their own scopes ("tok#<role>"), which no secret listing
// queries.
//
// Access patterns and their cost in DynamoDB calls:
//
//   - get by id: one GetItem (ConsistentRead) of s#<id>, plus at most one KMS
//     Decrypt on a cold data-key cache (none on a warm one).
//   - list: one Query per scope the caller may see (the public scope and the
//     caller's own private scope), on the index of the sort order, starting
//     after the keyset cursor; both pages are merged in memory. One or two
//     Queries a page; a name prefix or exact name on a name-sorted listing is
//     a key condition. Other name and owner filters are FilterExpressions,
//     which may need further Query pages when they match few items. Lists read
//     indexes, so they are eventually consistent (milliseconds on AWS).
//   - create: two conditional PutItems (the claim, then the secret), plus one
//     KMS GenerateDataKey.
//   - update with history (the store always keeps some): one consistent
//     GetItem, one UpdateItem (the replaced version's copy, an upsert), one
//     conditional UpdateItem, plus one GenerateDataKey; once the retention
//     is reached, two UpdateItems more (the pruned version's tombstone, and
//     forgetting it). A change of name, visibility or deleted state adds the new claim
//     (PutItem) before the write and the old claim's release (DeleteItem)
//     after. Without Keep no copy is written, and the replaced version is
//     pruned (two UpdateItems) in case a concurrent writer copied it.
//   - soft delete and restore: updates (the delete drops the claim, the
//     restore claims the name again).
//   - versions: one GetItem and one BatchGetItem per 100 past versions (no
//     sealed values read); a past version: two GetItems.
//   - purge (Delete): one UpdateItem (mark), one DeleteItem (claim), one
//     UpdateItem per stored version (tombstone), one DeleteItem (secret).
//   - expired: a Scan of the table, for the scheduled purge.
//
// # Uniqueness without transactions
//
// DynamoDB enforces uniqueness only on the primary key, and get-by-id and
// uniqueness-by-name need two different keys, so every secret has two items.
// Instead of TransactWriteItems (which dynalite lacks, and which costs two
// write units per item), the claim is written first with a condition
// (attribute_not_exists(pk) OR id = :id): of two concurrent creates or renames
// onto one name exactly one gets the claim. Then the secret item is written,
// conditionally (attribute_not_exists for a create; expected version, owner
// and current claim for an update). A secret is visible (get, list) only
// through its own item, and that item is written only after its claim, so a
// half-done create is invisible, never half-written: the values and the
// metadata are one item, written by one PutItem.
//
// A crash (or an ambiguous timeout) between the two writes leaves a claim
// without a secret, an "orphan" that blocks its name. A claim is live when the
// secret item it names exists and holds it (its "claim" attribute is this
// claim's pk). A create or rename that meets a claim which is not live and
// older than OrphanGrace (5 minutes) deletes it, conditionally on its id and
// time, and takes the name. A claim younger than that may belong to a write
// in flight, so it counts as taken (already_exists). A writer sends the
// secret write only within ClaimHold (1 minute) of writing its claim, after
// that it gives up (unavailable), so no write in flight can land after its
// claim was repaired; OrphanGrace is larger than ClaimHold plus any clock
// skew between writers. Deletes and renames release the old claim after the
// secret item no longer uses it; if that last write is lost, the claim is an
// orphan and is repaired the same way.
//
// A soft delete drops the secret's claim attribute in its write and releases
// the claim after, as a rename releases its old name; a restore claims its
// name first, as a rename does (already_exists when taken meanwhile).
//
// Never a lost acknowledged write: an operation returns success only after
// the secret item's write succeeded. If a retried write finds its own earlier
// attempt already applied (same version, time and change key), it succeeds.
//
// # IAM actions
//
// What each method may call, for least-privilege policies (resources: the
// table, and for Query its indexes, TABLE_ARN/index/*):
//
//	Get          dynamodb:GetItem                                  (+ kms:Decrypt through the Sealer)
//	GetMetadata  dynamodb:GetItem                                  (no KMS call)
//	List         dynamodb:Query
//	Create       dynamodb:PutItem, GetItem, DeleteItem             (+ kms:GenerateDataKey)
//	Update       dynamodb:UpdateItem, GetItem, PutItem, DeleteItem (+ kms:GenerateDataKey)
//	Delete       dynamodb:UpdateItem, DeleteItem, GetItem
//	Versions     dynamodb:GetItem, BatchGetItem                    (the get function serves it)
//	GetVersion   dynamodb:GetItem                                  (+ kms:Decrypt through the Sealer)
//	Expired      dynamodb:Scan
//	SaveToken    dynamodb:PutItem
//	TokenPrincipal dynamodb:GetItem
//	AppendAudit  dynamodb:PutItem, UpdateItem, GetItem             (keys a#*: records, a#head)
//	AuditHead, ReadAudit  dynamodb:GetItem                         (keys a#*)
//	WrappedAuditKey, PutWrappedAuditKey  dynamodb:GetItem, PutItem (key a#key)
//	create_table dynamodb:CreateTable, DescribeTable               (development only)
//
// Update reads the secret item (GetItem) to copy the version it replaces
// and to know the claim it holds. Otherwise GetItem serves the rare paths:
// telling a live name from a crashed writer's leftover claim, and finding
// out why a condition failed where the service does not return the item
// (dynalite). Version copies and tombstones are written with UpdateItem
// (an upsert), so a soft delete (an update) and a purge need no PutItem. DeleteItem in Create repairs
// such a leftover or releases the claim of a refused write. The portable
// store adds its own reads: its Update first Gets the secret (GetItem,
// kms:Decrypt), its Delete reads the metadata (GetItem), and an idempotent
// Create replay lists by name and gets (Query, GetItem, kms:Decrypt).
//
// # Retries and errors
//
// Every call is retried by the one retry policy (package retry: jittered
// exponential backoff within the caller's deadline) when it failed with
// throttling (ProvisionedThroughputExceededException, ThrottlingException,
// RequestLimitExceeded), a transaction conflict, a 5xx or a timeout, then
// returned as unavailable. The SDK's own retryer is off, so there is one
// policy. errorCodes is the one table from DynamoDB error codes to errcode.
// Errors never contain values.
package dynamostore

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
	"github.com/lockwell/lockwell/shared/retry"
	"github.com/lockwell/lockwell/shared/secret"
)

// API is the part of the DynamoDB client the backend calls; *dynamodb.Client
// implements it. BatchWriteItem and the transaction calls are never used;
// Scan only by Expired.
type API interface {
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// Config configures New.
type Config struct {
	Table  string           // required
	Sealer *envelope.Sealer // required: values are sealed before they are stored
	// CreateTable creates the table and its indexes when missing.
	CreateTable bool
	// Retry is the retry policy; the zero value is retry.Default.
	Retry retry.Policy
	// AttemptTimeout bounds one call; default 5s. A call that times out is
	// retried within the caller's deadline.
	AttemptTimeout time.Duration
	// OrphanGrace is how old a claim without its secret must be before a
	// writer may take its name; default 5 minutes. Must exceed ClaimHold plus
	// clock skew.
	OrphanGrace time.Duration
	// ClaimHold is how long after writing a claim a writer may still send
	// the secret write; default 1 minute.
	ClaimHold time.Duration
}

// Backend is the DynamoDB backend. It implements backend.Backend and
// identity.TokenStore, and is safe for concurrent use, also from many
// processes sharing the table.
type Backend struct {
	db      API
	table   *string
	sealer  *envelope.Sealer
	retry   retry.Policy
	attempt time.Duration
	grace   time.Duration
	hold    time.Duration
	now     func() time.Time // wall clock of claims; tests move it
	// auditTTL, when set, gives audit items an expiry (audit.go).
	auditTTL time.Duration
}

var _ backend.Backend = (*Backend)(nil)

var tableName = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)

// New returns a Backend on the table. Errors: invalid_argument for a bad
// table name or a missing Sealer; those of table creation when
// cfg.CreateTable is set.
func New(ctx context.Context, client API, cfg Config) (*Backend, error) {
	if !tableName.MatchString(cfg.Table) {
		return nil, errcode.New(errcode.InvalidArgument, "DynamoDB table name must be 3 to 255 letters, digits, _ . or -")
	}
	if cfg.Sealer == nil {
		return nil, errcode.New(errcode.InvalidArgument, "the DynamoDB store needs a key to seal values (a Sealer)")
	}
	b := &Backend{
		db: client, table: aws.String(cfg.Table), sealer: cfg.Sealer, retry: cfg.Retry,
		attempt: cfg.AttemptTimeout, grace: cfg.OrphanGrace, hold: cfg.ClaimHold, now: time.Now,
	}
	if b.attempt <= 0 {
		b.attempt = 5 * time.Second
	}
	if b.hold <= 0 {
		b.hold = time.Minute
	}
	if b.grace <= 0 {
		b.grace = 5 * time.Minute
	}
	if b.grace <= b.hold {
		return nil, errcode.New(errcode.InvalidArgument, "OrphanGrace (%s) must be longer than ClaimHold (%s)", b.grace, b.hold)
	}
	if cfg.CreateTable {
		if err := b.createTable(ctx); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func init() {
	backend.Register("dynamodb", Open)
}

// Open opens a Backend from a dynamodb URL (see the package doc) with the
// SDK's default configuration chain. Errors: invalid_argument for a bad URL
// or a missing Sealer.
func Open(ctx context.Context, u *url.URL, opts backend.Options) (backend.Backend, error) {
	if err := openurl.CheckParams(u, "region", "create_table"); err != nil {
		return nil, err
	}
	if u.Path != "" && u.Path != "/" {
		return nil, errcode.New(errcode.InvalidArgument, "dynamodb URL is dynamodb://TABLE, without a path")
	}
	q := u.Query()
	create := false
	if v := q.Get("create_table"); v != "" {
		var err error
		if create, err = strconv.ParseBool(v); err != nil {
			return nil, errcode.New(errcode.InvalidArgument, "dynamodb create_table must be true or false")
		}
	}
	var lo []func(*config.LoadOptions) error
	if r := q.Get("region"); r != "" {
		lo = append(lo, config.WithRegion(r))
	}
	cfg, err := config.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "load AWS configuration")
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.Retryer = aws.NopRetryer{} })
	return New(ctx, client, Config{Table: u.Host, Sealer: opts.Sealer, CreateTable: create})
}

// Close implements backend.Backend; the SDK client holds nothing to release.
func (b *Backend) Close() error { return nil }

// call runs one DynamoDB call under the retry policy, each attempt bounded
// by the attempt timeout, and classifies its error once.
func (b *Backend) call(ctx context.Context, what string, op func(ctx context.Context) error) error {
	return retry.Do(ctx, b.retry, func(ctx context.Context) error {
		actx, cancel := context.WithTimeout(ctx, b.attempt)
		defer cancel()
		return classify(op(actx), what)
	})
}

func names(pairs ...string) map[string]string {
	m := make(map[string]string, len(pairs))
	for _, n := range pairs {
		m["#"+n] = n
	}
	return m
}

// getItem reads an item by pk with a consistent read; nil when missing.
func (b *Backend) getItem(ctx context.Context, pk, what string) (map[string]types.AttributeValue, error) {
	var item map[string]types.AttributeValue
	err := b.call(ctx, what, func(ctx context.Context) error {
		out, err := b.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: b.table, Key: keyOf(pk), ConsistentRead: aws.Bool(true)})
		if err == nil {
			item = out.Item
		}
		return err
	})
	if len(item) == 0 {
		item = nil
	}
	return item, err
}

// current returns the stored secret, from a condition failure's item when
// the service sent one, else by a consistent read; nil when missing.
func (b *Backend) current(ctx context.Context, id string, item map[string]types.AttributeValue) (*stored, error) {
	if item == nil {
		var err error
		if item, err = b.getItem(ctx, secretPK(id), "read the secret"); err != nil || item == nil {
			return nil, err
		}
	}
	return decodeSecret(item)
}

// sameWrite reports whether cur is the version s describes: what an earlier
// attempt of a retried write left behind.
func sameWrite(cur *stored, s *secret.Secret) bool {
	return cur != nil && cur.secret.Version == s.Version && cur.secret.Updated.Equal(s.Updated) &&
		cur.secret.ChangeKey == s.ChangeKey && cur.claim == claimOf(s) && !cur.purging
}

func (b *Backend) seal(ctx context.Context, s *secret.Secret) ([]byte, error) {
	if s.Values == nil {
		return nil, nil
	}
	return b.sealer.Seal(ctx, s.Values, s.ID, s.Version)
}

func clash(s *secret.Secret) error {
	if s.Private {
		return errcode.New(errcode.AlreadyExists, "you already have a private secret named %q", s.Name)
	}
	return errcode.New(errcode.AlreadyExists, "a public secret named %q already exists", s.Name)
}

// Get implements backend.Backend: one consistent GetItem, then the values
// are opened (at most one KMS Decrypt on a cold key cache). Errors:
// not_found; unavailable; internal for an item that does not decode or open.
func (b *Backend) Get(ctx context.Context, id string) (*secret.Secret, error) {
	st, err := b.read(ctx, id)
	if err != nil {
		return nil, err
	}
	return b.open(ctx, st)
}

// GetMetadata implements backend.MetadataGetter: one consistent GetItem and
// no KMS call, since the sealed values are not opened. Errors: not_found;
// unavailable.
func (b *Backend) GetMetadata(ctx context.Context, id string) (*secret.Secret, error) {
	st, err := b.read(ctx, id)
	if err != nil {
		return nil, err
	}
	return st.secret, nil
}

func (b *Backend) read(ctx context.Context, id string) (*stored, error) {
	item, err := b.getItem(ctx, secretPK(id), "read the secret")
	if err != nil {
		return nil, err
	}
	var st *stored
	if item != nil {
		if st, err = decodeSecret(item); err != nil {
			return nil, err
		}
	}
	if st == nil || st.purging { // a purge that started is gone for readers
		return nil, errcode.New(errcode.NotFound, "secret %s not found", id)
	}
	return st, nil
}

// Create implements backend.Backend: the name's claim, then the secret item
// (see the package doc). Errors: already_exists (the name is taken in its
// scope, or the id exists); too_large when the sealed secret exceeds the
// item size limit; unavailable.
func (b *Backend) Create(ctx context.Context, s *secret.Secret) error {
	return b.withRecord(ctx, s, func(ctx context.Context) error { return b.create(ctx, s) })
}

func (b *Backend) create(ctx context.Context, s *secret.Secret) error {
	sealed, err := b.seal(ctx, s)
	if err != nil {
		return err
	}
	claim := claimPK(s)
	claimedAt, err := b.claim(ctx, claim, s)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithDeadline(ctx, claimedAt.Add(b.hold))
	defer cancel()
	ambiguous := false
	err = b.call(wctx, "store the secret", func(ctx context.Context) error {
		_, err := b.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: b.table, Item: secretItem(s, sealed),
			ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames:            names(attrPK),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		ambiguous = ambiguous || mayHaveApplied(err)
		return err
	})
	if failed, item := conditionFailed(err); failed {
		cur, cerr := b.current(ctx, s.ID, item)
		if cerr != nil {
			return cerr
		}
		if ambiguous && sameWrite(cur, s) {
			return nil // an earlier attempt landed
		}
		if cur == nil || cur.claim != claim {
			b.release(ctx, claim, s.ID)
		}
		return errcode.New(errcode.AlreadyExists, "a secret with id %s already exists", s.ID)
	}
	if err != nil && errcode.Of(err) != errcode.Unavailable {
		// A definite refusal (too large, access denied): nothing was stored,
		// so the name is free again.
		b.release(ctx, claim, s.ID)
	}
	// On unavailable the write may or may not have landed: the claim stays,
	// live if it did, repaired after OrphanGrace if not.
	return err
}

// claim reserves the claim pk for s.ID (see the package doc) and returns
// when it started to, the moment ClaimHold counts from. Errors:
// already_exists when the name is live or may be in flight; unavailable.
func (b *Backend) claim(ctx context.Context, pk string, s *secret.Secret) (time.Time, error) {
	for range 3 {
		start := time.Now()
		err := b.call(ctx, "reserve the name", func(ctx context.Context) error {
			_, err := b.db.PutItem(ctx, &dynamodb.PutItemInput{
				TableName: b.table,
				Item: map[string]types.AttributeValue{
					attrPK: str(pk), attrID: str(s.ID), attrAt: str(formatTime(b.now())),
				},
				ConditionExpression:                 aws.String("attribute_not_exists(#pk) OR #id = :id"),
				ExpressionAttributeNames:            names(attrPK, attrID),
				ExpressionAttributeValues:           map[string]types.AttributeValue{":id": str(s.ID)},
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			})
			return err
		})
		failed, item := conditionFailed(err)
		if !failed {
			return start, err
		}
		if item == nil {
			if item, err = b.getItem(ctx, pk, "read the name reservation"); err != nil {
				return time.Time{}, err
			}
			if item == nil {
				continue // released meanwhile: try again
			}
		}
		holder := decodeClaim(item)
		stale, err := b.stale(ctx, pk, holder)
		if err != nil {
			return time.Time{}, err
		}
		if !stale {
			return time.Time{}, clash(s)
		}
		err = b.call(ctx, "repair an abandoned name reservation", func(ctx context.Context) error {
			_, err := b.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
				TableName: b.table, Key: keyOf(pk),
				ConditionExpression:       aws.String("#id = :id AND #at = :at"),
				ExpressionAttributeNames:  names(attrID, attrAt),
				ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(holder.id), ":at": str(holder.at)},
			})
			return err
		})
		if failed, _ := conditionFailed(err); err != nil && !failed {
			return time.Time{}, err
		}
	}
	return time.Time{}, errcode.New(errcode.Unavailable, "the name %q is contended by concurrent writers; retry", s.Name)
}

// stale reports whether a claim may be taken over: old enough that no write
// can be in flight, and not held by the secret it names.
func (b *Backend) stale(ctx context.Context, pk string, c *claimInfo) (bool, error) {
	if at, err := parseTime(c.at); err == nil && b.now().Sub(at) < b.grace {
		return false, nil
	}
	item, err := b.getItem(ctx, secretPK(c.id), "check a name reservation")
	if err != nil {
		return false, err
	}
	return item == nil || getS(item, attrClaim) != pk, nil
}

// release deletes the claim if id still holds it. Best effort: a claim left
// behind is an orphan, repaired after OrphanGrace.
func (b *Backend) release(ctx context.Context, pk, id string) {
	_ = b.call(ctx, "release a name reservation", func(ctx context.Context) error {
		_, err := b.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: b.table, Key: keyOf(pk),
			ConditionExpression:       aws.String("#id = :id"),
			ExpressionAttributeNames:  names(attrID),
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(id)},
		})
		if failed, _ := conditionFailed(err); failed {
			return nil
		}
		return err
	})
}

// updateItem rewrites the mutable attributes of the secret, and extra
// (nil values removed), under the condition. Owner, id and created are
// never written.
func (b *Backend) updateItem(ctx context.Context, s *secret.Secret, sealed []byte, extra map[string]types.AttributeValue, condition string, condValues map[string]types.AttributeValue) (ambiguous bool, err error) {
	var set, remove string
	nm := names(attrPK, attrVersion, attrClaim, attrOwner, attrPurging)
	values := map[string]types.AttributeValue{}
	for k, v := range condValues {
		values[k] = v
	}
	attrs := mutableAttrs(s, sealed)
	for k, v := range extra {
		attrs[k] = v
	}
	i := 0
	for name, v := range attrs {
		nm["#"+name] = name
		if v == nil {
			if remove != "" {
				remove += ", "
			}
			remove += "#" + name
			continue
		}
		i++
		ph := ":v" + strconv.Itoa(i)
		values[ph] = v
		if set != "" {
			set += ", "
		}
		set += "#" + name + " = " + ph
	}
	expr := "SET " + set
	if remove != "" {
		expr += " REMOVE " + remove
	}
	if s.Idempotency != nil {
		nm["#"+attrPending] = attrPending
		values[":pending"] = &types.AttributeValueMemberSS{Value: []string{s.Idempotency.Key}}
		expr += " ADD #" + attrPending + " :pending"
	}
	err = b.call(ctx, "update the secret", func(ctx context.Context) error {
		_, err := b.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: b.table, Key: keyOf(secretPK(s.ID)),
			UpdateExpression:                    aws.String(expr),
			ConditionExpression:                 aws.String(condition),
			ExpressionAttributeNames:            nm,
			ExpressionAttributeValues:           values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		ambiguous = ambiguous || mayHaveApplied(err)
		return err
	})
	return ambiguous, err
}

// Update implements backend.Backend (see the package doc and history.go):
// read the secret; with Keep, keep the version it replaces; claim a new
// name when the name, the visibility or the deleted state changes; write
// the secret if it is still the version read; release the old claim; prune.
// Errors: not_found; failed_precondition when the stored version is not
// expectedVersion (or changes meanwhile); already_exists when the new name
// is taken; invalid_argument when s.Owner is not the stored owner;
// too_large; unavailable.
func (b *Backend) Update(ctx context.Context, s *secret.Secret, expectedVersion int64) error {
	return b.withRecord(ctx, s, func(ctx context.Context) error { return b.update(ctx, s, expectedVersion) })
}

func (b *Backend) update(ctx context.Context, s *secret.Secret, expectedVersion int64) error {
	sealed, err := b.seal(ctx, s)
	if err != nil {
		return err
	}
	readAt := time.Now() // the copy of what is read is sent within ClaimHold of this
	cur, err := b.read(ctx, s.ID)
	switch {
	case err != nil:
		return err
	case cur.secret.Version != expectedVersion:
		return errcode.New(errcode.FailedPrecondition, "secret %s is at version %d, not %d", s.ID, cur.secret.Version, expectedVersion)
	case cur.secret.Owner != s.Owner:
		return errcode.New(errcode.InvalidArgument, "the owner of secret %s never changes", s.ID)
	}
	h := planHistory(cur, s)
	if h.copy {
		cctx, cancel := context.WithDeadline(ctx, readAt.Add(b.hold))
		err := b.copyVersion(cctx, cur)
		cancel()
		if err != nil {
			return err
		}
	}
	oldClaim, newClaim := cur.claim, claimOf(s)
	wctx, claimed := ctx, false
	if newClaim != "" && newClaim != oldClaim {
		claimedAt, err := b.claim(ctx, newClaim, s)
		if err != nil {
			return err
		}
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadline(ctx, claimedAt.Add(b.hold))
		defer cancel()
		claimed = true
	}
	cond := "attribute_exists(#pk) AND attribute_not_exists(#purging) AND #version = :expected AND #owner = :owner AND "
	values := map[string]types.AttributeValue{":expected": num(expectedVersion), ":owner": str(s.Owner)}
	if oldClaim == "" {
		cond += "attribute_not_exists(#claim)"
	} else {
		cond += "#claim = :claim"
		values[":claim"] = str(oldClaim)
	}
	ambiguous, err := b.updateItem(wctx, s, sealed, h.attrs(), cond, values)
	if failed, item := conditionFailed(err); failed {
		now, cerr := b.current(ctx, s.ID, item)
		if cerr != nil {
			return cerr
		}
		if ambiguous && sameWrite(now, s) {
			b.afterUpdate(ctx, s.ID, oldClaim, newClaim, h)
			return nil // an earlier attempt landed
		}
		if claimed && (now == nil || now.claim != newClaim) {
			b.release(ctx, newClaim, s.ID)
		}
		if now == nil || now.purging {
			return errcode.New(errcode.NotFound, "secret %s not found", s.ID)
		}
		return errcode.New(errcode.FailedPrecondition, "secret %s changed concurrently", s.ID)
	}
	if err != nil {
		if claimed && errcode.Of(err) != errcode.Unavailable {
			b.release(ctx, newClaim, s.ID) // a definite refusal: nothing was stored
		}
		return err
	}
	b.afterUpdate(ctx, s.ID, oldClaim, newClaim, h)
	return nil
}

// afterUpdate releases the claim the secret no longer holds and prunes the
// versions the update dropped. Best effort: a claim left behind is an
// orphan, repaired after OrphanGrace; versions left in prune are pruned by
// the next write.
func (b *Backend) afterUpdate(ctx context.Context, id, oldClaim, newClaim string, h history) {
	if oldClaim != "" && oldClaim != newClaim {
		b.release(ctx, oldClaim, id)
	}
	b.prune(ctx, id, h.prune)
}

// Delete implements backend.Backend, the purge (see history.go): mark the
// secret item purging (conditionally), release its claim, tombstone its
// past versions, delete the item. An item that holds keys of unfinished
// idempotency records (a keyed write in flight or interrupted) has those
// records finished first, so that a retry of that write is still answered.
// A purge that was interrupted is finished by the next Delete of the id.
// Errors: not_found; failed_precondition when expectedVersion is not 0 and
// not the stored version; unavailable.
func (b *Backend) Delete(ctx context.Context, id string, expectedVersion int64) error {
	cond := "attribute_exists(#pk) AND attribute_not_exists(#pending)"
	nm := names(attrPK, attrPending, attrPurging, attrScope, attrClaim)
	values := map[string]types.AttributeValue{":now": str(formatTime(b.now()))}
	if expectedVersion != 0 {
		cond += " AND #version = :expected"
		nm["#"+attrVersion] = attrVersion
		values[":expected"] = num(expectedVersion)
	}
	ambiguous := false
	for range 4 {
		var old map[string]types.AttributeValue
		err := b.call(ctx, "start the purge", func(ctx context.Context) error {
			out, err := b.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: b.table, Key: keyOf(secretPK(id)),
				UpdateExpression:                    aws.String("SET #purging = :now REMOVE #scope, #claim"),
				ConditionExpression:                 aws.String(cond),
				ExpressionAttributeNames:            nm,
				ExpressionAttributeValues:           values,
				ReturnValues:                        types.ReturnValueAllOld,
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			})
			if err == nil {
				old = out.Attributes
			}
			ambiguous = ambiguous || mayHaveApplied(err)
			return err
		})
		if failed, item := conditionFailed(err); failed {
			cur, cerr := b.current(ctx, id, item)
			switch {
			case cerr != nil:
				return cerr
			case cur == nil && ambiguous:
				return nil // an earlier attempt finished it
			case cur == nil:
				return errcode.New(errcode.NotFound, "secret %s not found", id)
			case expectedVersion != 0 && cur.secret.Version != expectedVersion:
				return errcode.New(errcode.FailedPrecondition, "secret %s is at version %d, not %d", id, cur.secret.Version, expectedVersion)
			case len(cur.pending) > 0:
				if err := b.finishPendingOf(ctx, id, cur.pending); err != nil {
					return err
				}
				continue
			}
			return errcode.New(errcode.FailedPrecondition, "secret %s changed concurrently", id)
		}
		if err != nil {
			return err
		}
		return b.finishPurge(ctx, id, old)
	}
	return errcode.New(errcode.Unavailable, "secret %s is being written with idempotency keys concurrently; retry", id)
}

// finishPurge is the rest of a purge once the secret item, old as it was
// before, is marked purging: its claim, its version items, the item.
func (b *Backend) finishPurge(ctx context.Context, id string, old map[string]types.AttributeValue) error {
	if claim := getS(old, attrClaim); claim != "" {
		b.release(ctx, claim, id)
	}
	st, err := decodeSecret(old)
	if err != nil {
		return err
	}
	versions := append([]int64{st.secret.Version}, st.prune...)
	for v := range st.past {
		versions = append(versions, v)
	}
	if err := b.tombstone(ctx, id, versions); err != nil {
		return err
	}
	err = b.call(ctx, "delete the secret", func(ctx context.Context) error {
		_, err := b.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: b.table, Key: keyOf(secretPK(id)),
			ConditionExpression:      aws.String("attribute_exists(#purging)"),
			ExpressionAttributeNames: names(attrPurging),
		})
		return err
	})
	if failed, _ := conditionFailed(err); failed {
		return nil // deleted by another purge of it
	}
	return err
}
