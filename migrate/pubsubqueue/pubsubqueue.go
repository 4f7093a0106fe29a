// Package pubsubqueue publishes migration messages to a Google Cloud Pub/Sub
// topic (migrate.Queue), for the Google Cloud deployment, whose migrator is
// the MigrateSecrets CloudEvent function (migrate/gcp). It speaks Pub/Sub's
// REST API (topics.publish) with Application Default Credentials; with
// PUBSUB_EMULATOR_HOST set (as the Google client libraries honour it) it
// talks plain HTTP without credentials to that loopback host:port.
//
// Topic URL: pubsub://PROJECT/TOPIC.
package pubsubqueue

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2/google"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/retry"
)

// Queue publishes to one topic. Safe for concurrent use.
type Queue struct {
	endpoint string // https://pubsub.googleapis.com or the emulator's http://host:port
	topic    string // projects/P/topics/T
	http     *http.Client
}

var _ migrate.Queue = (*Queue)(nil)

// Open returns the queue for a pubsub://PROJECT/TOPIC URL. Errors:
// invalid_argument for a bad URL or emulator host, unauthenticated without
// credentials.
func Open(ctx context.Context, rawURL string) (*Queue, error) {
	u, err := url.Parse(rawURL)
	topic := strings.Trim(u.Path, "/")
	if err != nil || u.Scheme != "pubsub" || u.Host == "" || topic == "" || strings.Contains(topic, "/") || u.User != nil || u.RawQuery != "" {
		return nil, errcode.New(errcode.InvalidArgument, "Pub/Sub topic must be pubsub://PROJECT/TOPIC")
	}
	q := &Queue{endpoint: "https://pubsub.googleapis.com", topic: "projects/" + u.Host + "/topics/" + topic}
	if host := os.Getenv("PUBSUB_EMULATOR_HOST"); host != "" {
		h, _, err := net.SplitHostPort(host)
		ip := net.ParseIP(h)
		if err != nil || !(h == "localhost" || ip != nil && ip.IsLoopback()) {
			return nil, errcode.New(errcode.InvalidArgument, "PUBSUB_EMULATOR_HOST must be a loopback host:port (it is spoken to without TLS)")
		}
		q.endpoint, q.http = "http://"+host, &http.Client{Timeout: 30 * time.Second}
		return q, nil
	}
	client, err := google.DefaultClient(ctx, "https://www.googleapis.com/auth/pubsub")
	if err != nil {
		return nil, errcode.New(errcode.Unauthenticated, "no Google credentials for Pub/Sub (Application Default Credentials)")
	}
	client.Timeout = 30 * time.Second
	q.http = client
	return q, nil
}

type publishRequest struct {
	Messages []pubsubMessage `json:"messages"`
}

type pubsubMessage struct {
	Data       []byte            `json:"data"` // base64 in JSON, as the API wants
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Send implements migrate.Queue: batches of up to 100 messages per publish,
// retried with the shared policy on throttling and server errors.
func (q *Queue) Send(ctx context.Context, msgs []migrate.Message) error {
	for start := 0; start < len(msgs); start += 100 {
		var req publishRequest
		for _, m := range msgs[start:min(start+100, len(msgs))] {
			req.Messages = append(req.Messages, pubsubMessage{Data: m.Encode(), Attributes: map[string]string{"job": m.Job}})
		}
		body, _ := json.Marshal(req)
		err := retry.Do(ctx, retry.Default, func(ctx context.Context) error {
			r, err := http.NewRequestWithContext(ctx, http.MethodPost, q.endpoint+"/v1/"+q.topic+":publish", bytes.NewReader(body))
			if err != nil {
				return errcode.New(errcode.InvalidArgument, "bad Pub/Sub request")
			}
			r.Header.Set("Content-Type", "application/json")
			resp, err := q.http.Do(r)
			if err != nil {
				return errcode.New(errcode.Unavailable, "Pub/Sub is unreachable")
			}
			defer resp.Body.Close()
			var out struct {
				MessageIDs []string `json:"messageIds"`
			}
			switch {
			case resp.StatusCode == http.StatusOK:
				if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.MessageIDs) != len(req.Messages) {
					return errcode.New(errcode.Unavailable, "Pub/Sub did not confirm every message")
				}
				return nil
			case resp.StatusCode == http.StatusNotFound:
				return errcode.New(errcode.InvalidArgument, "Pub/Sub topic %s does not exist", q.topic)
			case resp.StatusCode == http.StatusUnauthorized:
				return errcode.New(errcode.Unauthenticated, "Pub/Sub refused the credentials")
			case resp.StatusCode == http.StatusForbidden:
				return errcode.New(errcode.PermissionDenied, "Pub/Sub: not allowed to publish to %s", q.topic)
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
				return errcode.New(errcode.Unavailable, "Pub/Sub: HTTP %d", resp.StatusCode)
			}
			return errcode.New(errcode.Internal, "Pub/Sub: HTTP %d", resp.StatusCode)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
