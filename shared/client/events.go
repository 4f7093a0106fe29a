package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/lockwell/lockwell/shared/errcode"
)

// Event is one change event of GET /api/v1/events (package events on the
// server): what happened to which secret, by whom. Never values.
type Event struct {
	Type      string `json:"type"` // created, updated, deleted, restored, purged, rolled_back
	ID        string `json:"id"`
	Name      string `json:"name"`
	Private   bool   `json:"private"`
	Owner     string `json:"owner"`
	Version   int64  `json:"version"`
	Principal string `json:"principal"`
	Time      string `json:"time"`
}

// StreamEvent is one server-sent event: its id (for Last-Event-ID), its
// type (an Event's Type, or "reset" when events were lost before a
// resumption) and, for change events, the Event.
type StreamEvent struct {
	ID    string
	Type  string
	Event Event
	Data  []byte // the raw data
}

// ResetType is the type of the stream's notice that events were lost: the
// reader re-reads the secrets it follows.
const ResetType = "reset"

// EventStream reads the event stream. Close it when done.
type EventStream struct {
	body io.ReadCloser
	r    *bufio.Reader
}

// Events opens the change-event stream, resuming after lastEventID when it
// is not empty. The stream lasts until ctx ends, the server ends it (Next
// returns io.EOF: reconnect with the last id) or Close. Errors: not_found
// when the server has no event stream (the cloud deployments publish to
// EventBridge or Pub/Sub instead), unauthenticated, unavailable.
func (c *Client) Events(ctx context.Context, lastEventID string) (*EventStream, error) {
	u := *c.base
	u.Path = c.base.Path + APIPrefix + "/events"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, errcode.Wrap(errcode.InvalidArgument, err, "cannot build the request")
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", c.userAgent)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	if c.auth != nil {
		if err := c.auth.Authenticate(ctx, req, nil); err != nil {
			return nil, err
		}
	}
	hc := *c.http
	hc.Timeout = 0 // a stream lasts; ctx bounds it
	resp, err := hc.Do(req)
	if err != nil {
		return nil, transportError(ctx, c.base.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, decodeError(resp, data)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		return nil, errcode.New(errcode.Internal, "the server's event stream is not text/event-stream")
	}
	return &EventStream{body: resp.Body, r: bufio.NewReader(resp.Body)}, nil
}

// maxEventLine bounds one line of the stream.
const maxEventLine = 1 << 20

// Next returns the next event, skipping comments and keep-alives. It
// returns io.EOF when the server ended the stream (for example because this
// reader fell too far behind): reconnect with the last event's id.
func (s *EventStream) Next() (StreamEvent, error) {
	var ev StreamEvent
	var data bytes.Buffer
	seen := false
	for {
		line, err := s.r.ReadString('\n')
		if len(line) > maxEventLine {
			return StreamEvent{}, errcode.New(errcode.Internal, "an event stream line is longer than %d bytes", maxEventLine)
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return StreamEvent{}, io.EOF
			}
			return StreamEvent{}, errcode.Wrap(errcode.Unavailable, err, "the event stream broke")
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if !seen || ev.Type == "" && data.Len() == 0 {
				ev, seen = StreamEvent{}, false
				data.Reset()
				continue
			}
			if ev.Type == "" {
				ev.Type = "message"
			}
			ev.Data = bytes.TrimSuffix(data.Bytes(), []byte("\n"))
			if ev.Type != ResetType {
				if err := json.Unmarshal(ev.Data, &ev.Event); err != nil {
					return StreamEvent{}, errcode.New(errcode.Internal, "an event's data is not the expected JSON")
				}
			}
			return ev, nil
		}
		if strings.HasPrefix(line, ":") {
			continue // a comment
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			ev.ID, seen = value, true
		case "event":
			ev.Type, seen = value, true
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
			seen = true
		}
	}
}

// Close ends the stream.
func (s *EventStream) Close() error { return s.body.Close() }
