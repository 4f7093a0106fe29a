// Package streamevents turns the DynamoDB stream of the secrets table into
// change events (package events) on an EventBridge bus: the AWS half of
// Lockwell's change events, run by the Lambda function functions/events.
//
// Only secret items are read (pk "s#<id>", with the id attribute); every
// other item of the table (names, tokens, idempotency records, versions)
// is ignored, and so is a MODIFY that made no new version and did not move
// the secret into or out of the recovery window. The event's type comes
// from the change attribute's operation (secret.Change, JSON): rollback is
// rolled_back, restore restored, delete deleted, create created, any other
// updated; an item without one is created on INSERT and updated on MODIFY.
// A REMOVE is purged (its principal is empty: a stream record does not say
// who removed an item).
//
// Each event is one EventBridge entry: source "lockwell", detail-type the
// event type (created, updated, deleted, restored, purged, rolled_back),
// detail the event's JSON (never values: the sealed values and key names
// are not read). Entries go out in the records' order, ten per PutEvents.
// When an entry fails, the handler reports that record and the ones after
// it as batch item failures (ReportBatchItemFailures), so Lambda retries
// from there and the order holds.
package streamevents

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	lwevents "github.com/lockwell/lockwell/shared/events"
	"github.com/lockwell/lockwell/shared/secret"
)

// Source is the EventBridge source of every entry.
const Source = "lockwell"

// maxEntries is the most entries one PutEvents takes.
const maxEntries = 10

// timeLayout is how the secrets table stores times (package dynamostore).
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// PutEventsAPI is the one EventBridge call the handler makes.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Handler publishes the events of a stream batch to Bus.
type Handler struct {
	Client PutEventsAPI
	Bus    string // the event bus name or ARN
}

// Handle is the Lambda handler of DynamoDB stream batches.
func (h Handler) Handle(ctx context.Context, batch events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	type pending struct {
		record int
		entry  ebtypes.PutEventsRequestEntry
	}
	var out []pending
	for i, r := range batch.Records {
		e, ok, err := Of(r)
		if err != nil {
			return events.DynamoDBEventResponse{}, fmt.Errorf("record %s: %w", r.EventID, err)
		}
		if !ok {
			continue
		}
		detail, _ := json.Marshal(e) // an Event always marshals
		out = append(out, pending{record: i, entry: ebtypes.PutEventsRequestEntry{
			Source: aws.String(Source), DetailType: aws.String(string(e.Type)),
			Detail: aws.String(string(detail)), EventBusName: aws.String(h.Bus),
			Resources: []string{}, Time: aws.Time(e.Time),
		}})
	}
	for start := 0; start < len(out); start += maxEntries {
		chunk := out[start:min(start+maxEntries, len(out))]
		entries := make([]ebtypes.PutEventsRequestEntry, len(chunk))
		for i, p := range chunk {
			entries[i] = p.entry
		}
		res, err := h.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		failed := -1
		if err != nil {
			failed = 0
		} else {
			for i, r := range res.Entries {
				if r.ErrorCode != nil {
					failed = i
					break
				}
			}
		}
		if failed >= 0 {
			return retryFrom(batch, chunk[failed].record), nil
		}
	}
	return events.DynamoDBEventResponse{}, nil
}

// retryFrom reports record i and every later one as failed, so that Lambda
// retries them in order (entries before i went out already).
func retryFrom(batch events.DynamoDBEvent, i int) events.DynamoDBEventResponse {
	var res events.DynamoDBEventResponse
	for _, r := range batch.Records[i:] {
		res.BatchItemFailures = append(res.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
	}
	return res
}

// Of returns the change event of a stream record, and false for a record
// that is no change of a secret.
func Of(r events.DynamoDBEventRecord) (lwevents.Event, bool, error) {
	image := r.Change.NewImage
	if r.EventName == string(events.DynamoDBOperationTypeRemove) {
		image = r.Change.OldImage
	}
	if !isSecret(r.Change.Keys, image) {
		return lwevents.Event{}, false, nil
	}
	e, err := fromImage(image)
	if err != nil {
		return lwevents.Event{}, false, err
	}
	change := changeOf(image)
	switch r.EventName {
	case string(events.DynamoDBOperationTypeRemove):
		e.Type, e.Principal = lwevents.Purged, ""
		e.Time = r.Change.ApproximateCreationDateTime.UTC()
		return e, true, nil
	case string(events.DynamoDBOperationTypeInsert):
		e.Type = lwevents.Created
	case string(events.DynamoDBOperationTypeModify):
		old, err := fromImage(r.Change.OldImage)
		if err == nil && old.Version == e.Version && isDeleted(r.Change.OldImage) == isDeleted(image) {
			return lwevents.Event{}, false, nil // no new version: a record of another kind
		}
		e.Type = lwevents.Updated
	default:
		return lwevents.Event{}, false, nil
	}
	if change.Operation != "" {
		e.Type = lwevents.TypeOf(change.Operation)
		e.Principal = change.Principal
	}
	if e.Type == lwevents.Deleted {
		if t, ok := timeAttr(image, "deleted"); ok {
			e.Time = t
		}
	}
	return e, true, nil
}

func isSecret(keys, image map[string]events.DynamoDBAttributeValue) bool {
	pk, ok := str(keys, "pk")
	if !ok || !strings.HasPrefix(pk, "s#") {
		return false
	}
	id, ok := str(image, "id")
	return ok && pk == "s#"+id
}

func isDeleted(image map[string]events.DynamoDBAttributeValue) bool {
	_, ok := str(image, "deleted")
	return ok
}

// fromImage reads the metadata of a secret item; Type and Principal are
// left for the caller (Principal from the change attribute, if any).
func fromImage(image map[string]events.DynamoDBAttributeValue) (lwevents.Event, error) {
	var e lwevents.Event
	e.ID, _ = str(image, "id")
	e.Name, _ = str(image, "name")
	e.Owner, _ = str(image, "owner")
	if v, ok := image["private"]; ok && v.DataType() == events.DataTypeBoolean {
		e.Private = v.Boolean()
	}
	v, ok := image["version"]
	if !ok || v.DataType() != events.DataTypeNumber {
		return e, fmt.Errorf("the secret item has no numeric version")
	}
	n, err := strconv.ParseInt(v.Number(), 10, 64)
	if err != nil {
		return e, fmt.Errorf("the secret item's version is not an integer")
	}
	e.Version = n
	e.Time, _ = timeAttr(image, "updated")
	return e, nil
}

func changeOf(image map[string]events.DynamoDBAttributeValue) secret.Change {
	var c secret.Change
	if s, ok := str(image, "change"); ok {
		_ = json.Unmarshal([]byte(s), &c) // a malformed change is a change without an operation
	}
	return c
}

func str(m map[string]events.DynamoDBAttributeValue, k string) (string, bool) {
	v, ok := m[k]
	if !ok || v.DataType() != events.DataTypeString {
		return "", false
	}
	return v.String(), true
}

func timeAttr(m map[string]events.DynamoDBAttributeValue, k string) (time.Time, bool) {
	s, ok := str(m, k)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(timeLayout, s)
	return t.UTC(), err == nil
}
