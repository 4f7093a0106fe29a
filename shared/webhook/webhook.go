// Package webhook delivers change events (package events) to an HTTP
// endpoint: the local server's LOCKWELL_WEBHOOK_URL.
//
// Each event is POSTed as its JSON (the events.Event fields, never values)
// with these headers:
//
//	Content-Type:       application/json
//	Lockwell-Event:     the event type (created, updated, ...)
//	Lockwell-Delivery:  an id of this delivery, the same on every retry
//	Lockwell-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
//
// The signature is HMAC-SHA256, keyed with the webhook secret, over the
// timestamp, a ".", and the body exactly as received:
// hex(HMAC-SHA256(secret, "<t>." + body)). A receiver verifies it with
// Verify (or recomputes it the same way in any language), compares in
// constant time, and rejects timestamps older than a few minutes to stop
// replays. Each attempt is signed afresh with its own timestamp.
//
// Publish never blocks: events wait in a bounded queue for one sender
// goroutine, which delivers them in order. A network error, a 429 or a 5xx
// is retried with backoff (package retry); other answers end the delivery.
// An event that finds the queue full, or that still fails after the last
// attempt, is dropped: counted (metrics.EventDropped) and logged with its
// type, secret id and version, never more.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/lockwell/lockwell/shared/events"
	"github.com/lockwell/lockwell/shared/metrics"
	"github.com/lockwell/lockwell/shared/retry"
)

// The headers of a delivery.
const (
	HeaderSignature = "Lockwell-Signature"
	HeaderEvent     = "Lockwell-Event"
	HeaderDelivery  = "Lockwell-Delivery"
)

// Defaults of Config.
const (
	DefaultQueue   = 1024
	DefaultTimeout = 10 * time.Second
)

// DefaultRetry is the backoff between attempts: 8 attempts over about two
// minutes at most.
var DefaultRetry = retry.Policy{Attempts: 8, Base: 500 * time.Millisecond, Max: 30 * time.Second}

// MinSecretLength is the shortest signing secret accepted, in bytes.
const MinSecretLength = 16

// Config configures a Sender.
type Config struct {
	// URL is the http or https endpoint; it may not carry user info.
	URL string
	// Secret keys the signatures; at least MinSecretLength bytes. Read it
	// from a file, never from argv.
	Secret []byte
	// Queue bounds the events waiting for delivery (DefaultQueue if 0).
	Queue int
	// Client sends the requests; nil is a client with DefaultTimeout.
	Client *http.Client
	// Retry is the backoff between attempts (DefaultRetry if zero).
	Retry retry.Policy
	// Logger gets a line per dropped or failed delivery; nil discards.
	Logger *slog.Logger
}

// Sender delivers events to one webhook. It is safe for concurrent use.
type Sender struct {
	cfg     Config
	queue   chan events.Event
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	dropped atomic.Uint64
	sent    atomic.Uint64
}

// New checks cfg and starts the sender's goroutine; Close stops it.
// Errors name the problem, never the secret.
func New(cfg Config) (*Sender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("the webhook URL must be an absolute http or https URL")
	}
	if u.User != nil {
		return nil, errors.New("the webhook URL may not carry user info; the signature authenticates deliveries")
	}
	if len(cfg.Secret) < MinSecretLength {
		return nil, fmt.Errorf("the webhook secret must be at least %d bytes", MinSecretLength)
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: DefaultTimeout}
	}
	if cfg.Retry == (retry.Policy{}) {
		cfg.Retry = DefaultRetry
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sender{
		cfg: cfg, queue: make(chan events.Event, cfg.Queue),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go s.run()
	return s, nil
}

// Publish implements events.Publisher: it queues e and returns at once;
// when the queue is full e is dropped.
func (s *Sender) Publish(ctx context.Context, e events.Event) {
	select {
	case <-s.stop:
		s.drop(ctx, e, "the server is stopping")
	case s.queue <- e:
	default:
		s.drop(ctx, e, "the delivery queue is full")
	}
}

// Dropped returns how many events were dropped (queue full, or delivery
// failed after the last attempt); Sent how many were delivered.
func (s *Sender) Dropped() uint64 { return s.dropped.Load() }

// Sent returns how many events were delivered (answered 2xx).
func (s *Sender) Sent() uint64 { return s.sent.Load() }

// Close stops taking events and waits until the queued ones are delivered
// or ctx ends; then it abandons the rest.
func (s *Sender) Close(ctx context.Context) {
	s.once.Do(func() { close(s.stop) })
	select {
	case <-s.done:
	case <-ctx.Done():
	}
}

func (s *Sender) drop(ctx context.Context, e events.Event, why string) {
	s.dropped.Add(1)
	metrics.EventDropped(metrics.SinkWebhook)
	s.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "webhook: event dropped",
		slog.String("reason", why), slog.String("type", string(e.Type)),
		slog.String("secret_id", e.ID), slog.Int64("version", e.Version))
}

func (s *Sender) run() {
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		select {
		case e := <-s.queue:
			s.deliver(ctx, e)
		case <-s.stop:
			for { // deliver what is queued, until Close gives up
				select {
				case e := <-s.queue:
					s.deliver(ctx, e)
				default:
					return
				}
			}
		}
	}
}

// errRetry marks an attempt worth repeating.
var errRetry = errors.New("retry")

func (s *Sender) deliver(ctx context.Context, e events.Event) {
	body, _ := json.Marshal(e) // an Event always marshals
	delivery := uuid.NewString()
	var last string
	for attempt := 1; ; attempt++ {
		status, err := s.attempt(ctx, e, delivery, body)
		if err == nil && status < 300 {
			s.sent.Add(1)
			return
		}
		retryable := err != nil || status == http.StatusTooManyRequests || status >= 500
		if err != nil {
			last = "network error: " + errorKind(err)
		} else {
			last = "status " + strconv.Itoa(status)
		}
		if !retryable || attempt >= s.cfg.Retry.Attempts {
			break
		}
		if s.cfg.Retry.Wait(ctx, attempt) != nil {
			break
		}
	}
	s.drop(ctx, e, "delivery failed: "+last)
}

func (s *Sender) attempt(ctx context.Context, e events.Event, delivery string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderEvent, string(e.Type))
	req.Header.Set(HeaderDelivery, delivery)
	req.Header.Set(HeaderSignature, Sign(s.cfg.Secret, time.Now(), body))
	res, err := s.cfg.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, nil
}

// errorKind describes a request error without its text, which names the
// URL (that may carry a token in its query).
func errorKind(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "timeout"
		}
		return fmt.Sprintf("%T", ue.Err)
	}
	return fmt.Sprintf("%T", err)
}

// Sign returns the Lockwell-Signature header value of body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a Lockwell-Signature header value against body: the HMAC
// must match (compared in constant time) and its timestamp be within
// tolerance of now. It is what a Go receiver calls.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errors.New("malformed Lockwell-Signature header")
	}
	if !hmac.Equal([]byte(sig), []byte(mac(secret, ts, body))) {
		return errors.New("the signature does not match")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("the signature's timestamp is outside the tolerance")
	}
	return nil
}
