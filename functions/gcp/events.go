package gcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"cloud.google.com/go/pubsub/v2"

	"github.com/lockwell/lockwell/shared/events"
)

// PubSubEvents is the events.Publisher of the Cloud Functions: it publishes
// each change event, after the change committed, to the Pub/Sub topic
// LOCKWELL_EVENTS_TOPIC names. A message's data is the event's JSON (never
// values), its attributes "type" (the event type), "secret_id" and
// "version", and its ordering key the secret's id, so that a subscription
// with message ordering gets each secret's changes in commit order.
//
// Publish waits for the topic to take the message (a function instance's CPU
// is throttled once it has answered, so nothing may wait in a buffer) and
// never fails the write: a message the topic refused is logged (type,
// secret id, version) and publishing on its ordering key resumes.
type PubSubEvents struct {
	p   *pubsub.Publisher
	log *slog.Logger
}

// NewPubSubEvents publishes to topic ("projects/P/topics/T") through c.
// log may be nil.
func NewPubSubEvents(c *pubsub.Client, topic string, log *slog.Logger) *PubSubEvents {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := c.Publisher(topic)
	p.EnableMessageOrdering = true
	return &PubSubEvents{p: p, log: log}
}

// Publish implements events.Publisher.
func (s *PubSubEvents) Publish(ctx context.Context, e events.Event) {
	data, _ := json.Marshal(e) // an Event always marshals
	res := s.p.Publish(ctx, &pubsub.Message{
		Data:        data,
		OrderingKey: e.ID,
		Attributes:  map[string]string{"type": string(e.Type), "secret_id": e.ID, "version": fmt.Sprint(e.Version)},
	})
	if _, err := res.Get(ctx); err != nil {
		s.p.ResumePublish(e.ID)
		s.log.LogAttrs(ctx, slog.LevelError, "change event not published to Pub/Sub",
			slog.String("type", string(e.Type)), slog.String("secret_id", e.ID),
			slog.Int64("version", e.Version), slog.String("error", fmt.Sprintf("%T", err)))
	}
}

// Stop flushes and stops the publisher.
func (s *PubSubEvents) Stop() { s.p.Stop() }

// openEvents returns the publisher of LOCKWELL_EVENTS_TOPIC (nil when it is
// not set). The client honours PUBSUB_EMULATOR_HOST.
func openEvents(ctx context.Context, topic string, log *slog.Logger) (*PubSubEvents, error) {
	if topic == "" {
		return nil, nil
	}
	project, ok := topicProject(topic)
	if !ok {
		return nil, errors.New("LOCKWELL_EVENTS_TOPIC must be a full topic name: projects/PROJECT/topics/TOPIC")
	}
	c, err := pubsub.NewClient(ctx, project)
	if err != nil {
		return nil, fmt.Errorf("open the Pub/Sub client for LOCKWELL_EVENTS_TOPIC: %w", err)
	}
	return NewPubSubEvents(c, topic, log), nil
}

// topicProject returns the project of a full topic name.
func topicProject(topic string) (string, bool) {
	parts := strings.Split(topic, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[2] != "topics" || parts[1] == "" || parts[3] == "" {
		return "", false
	}
	return parts[1], true
}
