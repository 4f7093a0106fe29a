package migrate

import (
	"context"
	"fmt"
	"sync"

	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// Processor handles queue deliveries of Messages: the platform-neutral core
// of the Lambda and Cloud Function entry points. It is safe for concurrent
// use; sources and jobs are opened once and cached.
//
// Delivery semantics are at least once. Processor relies on three things:
// Migrate is idempotent (origins), the job record never replaces a final
// outcome, and a message is acknowledged only after its outcome is
// recorded. Together these make duplicate, out-of-order and re-run
// deliveries no-ops and a crash at any step safe to redeliver.
type Processor struct {
	Jobs JobStore
	// Target returns the central store acting as the job's owner.
	Target func(job *Job) Target
	// MaxDeliveries is the queue's maxReceiveCount: on that delivery a
	// transient failure is recorded as failed, since the queue will move the
	// message to its dead-letter queue. 0 means never.
	MaxDeliveries int
	// OpenSource opens a legacy source; nil means legacy.Open.
	OpenSource func(ctx context.Context, rawURL string) (legacy.Source, error)

	mu      sync.Mutex
	sources map[string]legacy.Source
	jobs    map[string]*Job
}

// Handle processes one delivery of body (delivery counts from 1). It returns
// nil when the message is done and may be deleted, and an error when it must
// be delivered again. Errors classified invalid_argument mark poison
// messages (malformed, unknown version, unknown job or entry) that no retry
// can fix; the queue's redrive policy moves them to the dead-letter queue.
func (p *Processor) Handle(ctx context.Context, body []byte, delivery int) error {
	m, err := DecodeMessage(body)
	if err != nil {
		return err
	}
	job, err := p.job(ctx, m.Job)
	if err != nil {
		return err
	}
	if m.Source != job.Source {
		return errcode.New(errcode.InvalidArgument, "message source does not match job %s", job.ID)
	}
	st, err := p.Jobs.Entry(ctx, job.ID, m.Name)
	if errcode.Is(err, errcode.NotFound) {
		return errcode.New(errcode.InvalidArgument, "job %s has no entry %q", job.ID, m.Name)
	}
	if err != nil {
		return err
	}
	if st.Outcome.Final() {
		return nil // a duplicate or late delivery: already done
	}
	src, err := p.source(ctx, job.Source)
	if err != nil {
		return p.transient(ctx, job, m.Name, delivery, err)
	}
	res, err := Migrate(ctx, src, p.Target(job), job.Options, m.Name)
	if err != nil {
		return p.transient(ctx, job, m.Name, delivery, err)
	}
	return p.Jobs.Record(ctx, job.ID, EntryStatus{
		Name: m.Name, Outcome: res.Outcome, Reason: res.Reason, Target: res.Target, TargetID: res.TargetID,
		Updated: secret.Now(),
	})
}

// transient records a failed attempt and returns an error so that the
// message is delivered again; on the last delivery the entry is failed.
func (p *Processor) transient(ctx context.Context, job *Job, name string, delivery int, cause error) error {
	st := EntryStatus{Name: name, Outcome: Pending, Updated: secret.Now(),
		Reason: fmt.Sprintf("delivery %d: %s", delivery, errcode.Message(cause))}
	if p.MaxDeliveries > 0 && delivery >= p.MaxDeliveries {
		st.Outcome = Failed
		st.Reason = fmt.Sprintf("gave up after %d deliveries: %s", delivery, errcode.Message(cause))
	}
	if err := p.Jobs.Record(ctx, job.ID, st); err != nil {
		return err
	}
	return cause
}

func (p *Processor) job(ctx context.Context, id string) (*Job, error) {
	p.mu.Lock()
	job := p.jobs[id]
	p.mu.Unlock()
	if job != nil {
		return job, nil
	}
	job, err := p.Jobs.Job(ctx, id)
	if errcode.Is(err, errcode.NotFound) {
		return nil, errcode.New(errcode.InvalidArgument, "migration job %s does not exist", id)
	}
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.jobs == nil {
		p.jobs = map[string]*Job{}
	}
	p.jobs[id] = job // jobs never change after creation
	p.mu.Unlock()
	return job, nil
}

func (p *Processor) source(ctx context.Context, rawURL string) (legacy.Source, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.sources[rawURL]; s != nil {
		return s, nil
	}
	open := p.OpenSource
	if open == nil {
		open = legacy.Open
	}
	s, err := open(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	if p.sources == nil {
		p.sources = map[string]legacy.Source{}
	}
	p.sources[rawURL] = s
	return s, nil
}

// Close closes the cached sources.
func (p *Processor) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, s := range p.sources {
		s.Close()
		delete(p.sources, k)
	}
	return nil
}
