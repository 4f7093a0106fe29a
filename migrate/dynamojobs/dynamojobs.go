// Package dynamojobs keeps migration jobs (migrate.JobStore) in a DynamoDB
// table of their own, for deployments whose store is DynamoDB. It registers
// the URL scheme "dynamodb":
//
//	dynamodb://lockwell-migrate-jobs?region=eu-west-1
//	dynamodb://lockwell-migrate-jobs?create_table=true   (tests, local runs)
//
// Credentials come from the SDK's default chain; AWS_ENDPOINT_URL_DYNAMODB
// overrides the endpoint (dynalite in tests).
//
// Table: partition key "pk" (the job id) and sort key "sk", on-demand. The
// job is the item sk="#job" (owner, source, options); each entry is the
// item sk="e#<legacy name>" (outcome, reason, target, attempts, updated), so
// one Query on the job returns its entries in name order. No transactions
// are needed: CreateJob writes the entries first and the job item last (a
// crash in between leaves entries that no job item points at, which
// nothing reads), and Record is one conditional UpdateItem that never
// replaces a final outcome.
package dynamojobs

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
	"github.com/lockwell/lockwell/shared/retry"
)

const (
	jobSK       = "#job"
	entryPrefix = "e#"
)

func init() { migrate.RegisterJobStore("dynamodb", open) }

func open(ctx context.Context, u *url.URL) (migrate.JobStore, error) {
	if err := openurl.CheckParams(u, "region", "create_table"); err != nil {
		return nil, err
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, errcode.New(errcode.InvalidArgument, "job store URL must be dynamodb://TABLE")
	}
	q := u.Query()
	var lo []func(*config.LoadOptions) error
	if r := q.Get("region"); r != "" {
		lo = append(lo, config.WithRegion(r))
	}
	cfg, err := config.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return nil, errcode.New(errcode.InvalidArgument, "cannot load the AWS configuration")
	}
	s := New(dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.Retryer = aws.NopRetryer{} }), u.Host)
	if create, _ := strconv.ParseBool(q.Get("create_table")); create {
		if err := s.CreateTable(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Store is a migrate.JobStore on one DynamoDB table. Safe for concurrent use.
type Store struct {
	db    *dynamodb.Client
	table *string
}

var _ migrate.JobStore = (*Store)(nil)

// New returns a store on table.
func New(db *dynamodb.Client, table string) *Store { return &Store{db: db, table: aws.String(table)} }

// TableDefinition returns the CreateTable input of the jobs table, as
// template.yaml declares it.
func TableDefinition(table string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
	}
}

// CreateTable creates the table unless it exists and waits until it is
// active (development and tests).
func (s *Store) CreateTable(ctx context.Context) error {
	_, err := s.db.CreateTable(ctx, TableDefinition(*s.table))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return classify(err, "create the jobs table")
	}
	w := dynamodb.NewTableExistsWaiter(s.db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 2*time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: s.table}, 2*time.Minute); err != nil {
		return errcode.New(errcode.Unavailable, "DynamoDB jobs table did not become active")
	}
	return nil
}

// Close implements migrate.JobStore.
func (s *Store) Close() error { return nil }

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func key(jobID, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(jobID), "sk": str(sk)}
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// do runs op with the shared retry policy.
func (s *Store) do(ctx context.Context, op func(ctx context.Context) error) error {
	return retry.Do(ctx, retry.Default, op)
}

// CreateJob implements migrate.JobStore.
func (s *Store) CreateJob(ctx context.Context, job migrate.Job, entries []migrate.EntryStatus) error {
	for start := 0; start < len(entries); start += 25 {
		var reqs []types.WriteRequest
		for _, e := range entries[start:min(start+25, len(entries))] {
			item := key(job.ID, entryPrefix+e.Name)
			item["name"], item["outcome"], item["reason"] = str(e.Name), str(string(e.Outcome)), str(e.Reason)
			item["attempts"] = &types.AttributeValueMemberN{Value: "0"}
			item["updated"] = str(ts(job.Created))
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		for len(reqs) > 0 {
			var out *dynamodb.BatchWriteItemOutput
			err := s.do(ctx, func(ctx context.Context) (err error) {
				out, err = s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{*s.table: reqs}})
				return classify(err, "create job entries")
			})
			if err != nil {
				return err
			}
			reqs = out.UnprocessedItems[*s.table]
			if len(reqs) > 0 {
				time.Sleep(50 * time.Millisecond) // throttled: SDK guidance is to back off before resending
			}
		}
	}
	opts, _ := json.Marshal(job.Options)
	item := key(job.ID, jobSK)
	item["created"], item["owner"], item["source"], item["options"] = str(ts(job.Created)), str(job.Owner), str(job.Source), str(string(opts))
	err := s.do(ctx, func(ctx context.Context) error {
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
		return classify(err, "create job")
	})
	if errcode.Is(err, errcode.FailedPrecondition) {
		return errcode.New(errcode.AlreadyExists, "migration job %s already exists", job.ID)
	}
	return err
}

func (s *Store) get(ctx context.Context, jobID, sk string) (map[string]types.AttributeValue, error) {
	var out *dynamodb.GetItemOutput
	err := s.do(ctx, func(ctx context.Context) (err error) {
		out, err = s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: key(jobID, sk), ConsistentRead: aws.Bool(true)})
		return classify(err, "read job")
	})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

func sOf(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// Job implements migrate.JobStore.
func (s *Store) Job(ctx context.Context, id string) (*migrate.Job, error) {
	item, err := s.get(ctx, id, jobSK)
	if err != nil {
		return nil, err
	}
	if item == nil {
		return nil, errcode.New(errcode.NotFound, "migration job %s not found", id)
	}
	return jobOf(id, item)
}

// jobOf reads the job item of job id.
func jobOf(id string, item map[string]types.AttributeValue) (*migrate.Job, error) {
	job := &migrate.Job{ID: id, Owner: sOf(item, "owner"), Source: sOf(item, "source")}
	job.Created, _ = time.Parse(time.RFC3339Nano, sOf(item, "created"))
	if err := json.Unmarshal([]byte(sOf(item, "options")), &job.Options); err != nil {
		return nil, errcode.New(errcode.Internal, "job %s has unreadable options", id)
	}
	return job, nil
}

// Jobs implements migrate.JobStore: a Scan of the job items (sk = "#job"),
// which reads the entries too (DynamoDB filters after reading); the table
// has no index of jobs, and listing them is a rare admin read.
func (s *Store) Jobs(ctx context.Context, limit int) ([]migrate.Job, error) {
	if limit <= 0 {
		return nil, errcode.New(errcode.InvalidArgument, "limit must be positive")
	}
	in := &dynamodb.ScanInput{
		TableName:                 s.table,
		FilterExpression:          aws.String("sk = :j"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":j": str(jobSK)},
		ConsistentRead:            aws.Bool(true),
	}
	var jobs []migrate.Job
	for {
		var page *dynamodb.ScanOutput
		err := s.do(ctx, func(ctx context.Context) (err error) {
			page, err = s.db.Scan(ctx, in)
			return classify(err, "list jobs")
		})
		if err != nil {
			return nil, err
		}
		for _, item := range page.Items {
			job, err := jobOf(sOf(item, "pk"), item)
			if err != nil {
				return nil, err
			}
			jobs = append(jobs, *job)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return migrate.NewestJobs(jobs, limit), nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func entryOf(item map[string]types.AttributeValue) migrate.EntryStatus {
	e := migrate.EntryStatus{Name: sOf(item, "name"), Outcome: migrate.Outcome(sOf(item, "outcome")), Reason: sOf(item, "reason"),
		Target: sOf(item, "target"), TargetID: sOf(item, "target_id")}
	if n, ok := item["attempts"].(*types.AttributeValueMemberN); ok {
		e.Attempts, _ = strconv.Atoi(n.Value)
	}
	e.Updated, _ = time.Parse(time.RFC3339Nano, sOf(item, "updated"))
	return e
}

// Record implements migrate.JobStore: one conditional UpdateItem.
func (s *Store) Record(ctx context.Context, jobID string, st migrate.EntryStatus) error {
	err := s.do(ctx, func(ctx context.Context) error {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:           s.table,
			Key:                 key(jobID, entryPrefix+st.Name),
			UpdateExpression:    aws.String("SET outcome = :o, reason = :r, target = :t, target_id = :i, updated = :u ADD attempts :one"),
			ConditionExpression: aws.String("attribute_exists(pk) AND NOT outcome IN (:m, :s, :n)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":o": str(string(st.Outcome)), ":r": str(st.Reason), ":t": str(st.Target), ":i": str(st.TargetID), ":u": str(ts(st.Updated)),
				":one": &types.AttributeValueMemberN{Value: "1"},
				":m":   str(string(migrate.Migrated)), ":s": str(string(migrate.Skipped)), ":n": str(string(migrate.NotMigratable)),
			},
		})
		return classify(err, "record outcome")
	})
	if errcode.Is(err, errcode.FailedPrecondition) {
		// Either no such entry, or it is final already and this delivery
		// changes nothing.
		_, err := s.Entry(ctx, jobID, st.Name)
		return err
	}
	return err
}

// Entry implements migrate.JobStore.
func (s *Store) Entry(ctx context.Context, jobID, name string) (*migrate.EntryStatus, error) {
	item, err := s.get(ctx, jobID, entryPrefix+name)
	if err != nil {
		return nil, err
	}
	if item == nil {
		return nil, errcode.New(errcode.NotFound, "migration job %s has no entry %q", jobID, name)
	}
	e := entryOf(item)
	return &e, nil
}

// Entries implements migrate.JobStore.
func (s *Store) Entries(ctx context.Context, jobID string, outcome migrate.Outcome) ([]migrate.EntryStatus, error) {
	var out []migrate.EntryStatus
	err := s.query(ctx, jobID, outcome, func(item map[string]types.AttributeValue) { out = append(out, entryOf(item)) })
	return out, err
}

func (s *Store) query(ctx context.Context, jobID string, outcome migrate.Outcome, fn func(map[string]types.AttributeValue)) error {
	in := &dynamodb.QueryInput{
		TableName:                 s.table,
		KeyConditionExpression:    aws.String("pk = :p AND begins_with(sk, :e)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(jobID), ":e": str(entryPrefix)},
		ConsistentRead:            aws.Bool(true),
	}
	if outcome != "" {
		in.FilterExpression = aws.String("outcome = :o")
		in.ExpressionAttributeValues[":o"] = str(string(outcome))
	}
	for {
		var page *dynamodb.QueryOutput
		err := s.do(ctx, func(ctx context.Context) (err error) {
			page, err = s.db.Query(ctx, in)
			return classify(err, "list job entries")
		})
		if err != nil {
			return err
		}
		for _, item := range page.Items {
			fn(item)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// Counts implements migrate.JobStore.
func (s *Store) Counts(ctx context.Context, jobID string) (migrate.Counts, error) {
	if _, err := s.Job(ctx, jobID); err != nil {
		return nil, err
	}
	c := migrate.Counts{}
	err := s.query(ctx, jobID, "", func(item map[string]types.AttributeValue) { c[migrate.Outcome(sOf(item, "outcome"))]++ })
	return c, err
}

// ResetFailed implements migrate.JobStore.
func (s *Store) ResetFailed(ctx context.Context, jobID string) ([]string, error) {
	failed, err := s.Entries(ctx, jobID, migrate.Failed)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range failed {
		err := s.do(ctx, func(ctx context.Context) error {
			_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: s.table, Key: key(jobID, entryPrefix+e.Name),
				UpdateExpression:          aws.String("SET outcome = :p"),
				ConditionExpression:       aws.String("outcome = :f"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(string(migrate.Pending)), ":f": str(string(migrate.Failed))},
			})
			return classify(err, "reset entry")
		})
		if errcode.Is(err, errcode.FailedPrecondition) {
			continue // changed meanwhile
		}
		if err != nil {
			return names, err
		}
		names = append(names, e.Name)
	}
	return names, nil
}

// classify maps a DynamoDB error by its code; messages are not copied.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return errcode.New(errcode.Unavailable, "DynamoDB did not answer in time (%s)", what)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return errcode.New(errcode.Unavailable, "DynamoDB is unreachable (%s)", what)
	}
	code := errcode.Internal
	switch c := ae.ErrorCode(); {
	case c == "ConditionalCheckFailedException":
		code = errcode.FailedPrecondition
	case c == "ResourceNotFoundException":
		code = errcode.InvalidArgument // the table does not exist
	case c == "AccessDeniedException":
		code = errcode.PermissionDenied
	case strings.Contains(c, "Throughput") || strings.Contains(c, "Throttl") || c == "RequestLimitExceeded" ||
		c == "InternalServerError" || c == "ServiceUnavailable" || c == "LimitExceededException":
		code = errcode.Unavailable
	case c == "ValidationException":
		code = errcode.InvalidArgument
	}
	return errcode.New(code, "DynamoDB: %s (%s)", ae.ErrorCode(), what)
}
