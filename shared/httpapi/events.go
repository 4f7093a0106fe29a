package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/events"
)

// OpEvents is the operation of GET /api/v1/events.
const OpEvents = "events"

const pathEvents = "/api/v1/events"

// EventSource is what the event stream reads: the local server's
// events.Broker.
type EventSource interface {
	Subscribe(after uint64) (*events.Subscription, events.Resume)
}

// Timing of the event stream.
var (
	// eventsKeepAlive is how often an idle stream gets a comment line, so
	// that proxies and clients see it alive.
	eventsKeepAlive = 15 * time.Second
	// eventsWriteWait bounds one write to a stream; a client that reads
	// nothing for this long is disconnected.
	eventsWriteWait = time.Minute
)

// EventsRetry is the reconnection delay, in milliseconds, that the stream
// asks clients for (the SSE retry field).
const EventsRetry = 2000

// ResetEvent is the SSE event name of the notice that events were lost
// before a resumption: its data is {"type":"reset","message":...}; a client
// re-reads the secrets it follows, then carries on with the stream.
const ResetEvent = "reset"

// DroppedComment is the comment line that ends a stream whose client fell
// too far behind; the client reconnects with Last-Event-ID and resumes.
const DroppedComment = ": dropped: this stream fell too far behind; reconnect with Last-Event-ID to resume"

// streamEvents serves GET /api/v1/events: the change events of the secrets the
// caller may see, as server-sent events (text/event-stream). Each event is
//
//	id: <increasing id>
//	event: <type>
//	data: {"type","id","name","private","owner","version","principal","time"}
//
// With a Last-Event-ID header the stream resumes after that id from the
// events the server keeps; when some of the events after it are no longer
// kept (or the id is from another server run) a "reset" event says so
// first. Private secrets' events go only to their owner. Never values.
// Errors: not_found when this deployment has no event stream (the Lambda
// functions and Cloud Functions publish to EventBridge and Pub/Sub
// instead), invalid_argument for a malformed Last-Event-ID.
func (a *API) streamEvents(w http.ResponseWriter, r *http.Request, rec *record) error {
	if a.events == nil {
		return errcode.New(errcode.NotFound, "this deployment has no event stream; poll the secrets' versions instead")
	}
	var after uint64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errcode.New(errcode.InvalidArgument, "Last-Event-ID must be an event id (a decimal number)")
		}
		after = n
	}
	sub, resume := a.events.Subscribe(after)
	defer sub.Close()
	rc := http.NewResponseController(w)
	// The server's read and write timeouts are for requests, not streams.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	var buf bytes.Buffer
	send := func() error {
		_ = rc.SetWriteDeadline(time.Now().Add(eventsWriteWait))
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
		buf.Reset()
		return rc.Flush()
	}
	fmt.Fprintf(&buf, "retry: %d\n\n", EventsRetry)
	if resume.Gap {
		from := resume.Last
		if len(resume.Backlog) > 0 {
			from = resume.Backlog[0].Seq - 1
		}
		msg := fmt.Sprintf("events after id %d are no longer kept (or come from another server run): re-read the secrets you follow; the stream goes on after id %d", after, from)
		data, _ := json.Marshal(map[string]string{"type": ResetEvent, "message": msg})
		fmt.Fprintf(&buf, "id: %d\nevent: %s\ndata: %s\n\n", from, ResetEvent, data)
	}
	viewer := rec.principal.Name
	for _, d := range resume.Backlog {
		writeEvent(&buf, d, viewer)
	}
	if err := send(); err != nil {
		return nil // the client went away; nothing to answer
	}
	keepAlive := time.NewTicker(eventsKeepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-keepAlive.C:
			buf.WriteString(": keep-alive\n\n")
		case d, ok := <-sub.C:
			if !ok {
				if sub.Dropped() {
					buf.WriteString(DroppedComment + "\n\n")
					_ = send()
				}
				return nil
			}
			writeEvent(&buf, d, viewer)
			// Take what else is queued into the same write.
			for more := true; more; {
				select {
				case d, ok := <-sub.C:
					if !ok {
						more = false
						break
					}
					writeEvent(&buf, d, viewer)
				default:
					more = false
				}
			}
		}
		if buf.Len() == 0 {
			continue
		}
		if err := send(); err != nil {
			return nil
		}
	}
}

// writeEvent appends d to buf as one server-sent event when viewer may see
// it.
func writeEvent(buf *bytes.Buffer, d events.Delivery, viewer string) {
	if !d.VisibleTo(viewer) {
		return
	}
	data, _ := json.Marshal(d.Event) // an Event always marshals
	fmt.Fprintf(buf, "id: %d\nevent: %s\ndata: %s\n\n", d.Seq, d.Type, data)
}
