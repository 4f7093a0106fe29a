package audit

import (
	"bytes"
	"context"
	"sort"
	"sync"
)

// Memory is a Storage in memory, for tests and single-process tools. Create
// one with NewMemory. Tamper changes a stored record, to test Verify.
type Memory struct {
	mu   sync.Mutex
	recs []Record // in sequence order
	key  []byte   // the wrapped chain key (KeyStorage)
	// Fail, when set, is returned by every AppendAudit (to test failing
	// closed).
	Fail error
}

var (
	_ Storage    = (*Memory)(nil)
	_ KeyStorage = (*Memory)(nil)
)

// NewMemory returns an empty Memory.
func NewMemory() *Memory { return &Memory{} }

// AppendAudit implements Storage, atomically.
func (m *Memory) AppendAudit(_ context.Context, after int64, recs []Record) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return 0, m.Fail
	}
	var last int64
	if len(m.recs) > 0 {
		last = m.recs[len(m.recs)-1].Seq
	}
	if last != after {
		return 0, ErrConflict
	}
	m.recs = append(m.recs, recs...)
	return len(recs), nil
}

// AuditHead implements Storage.
func (m *Memory) AuditHead(context.Context) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.recs) == 0 {
		return nil, nil
	}
	r := m.recs[len(m.recs)-1]
	return &r, nil
}

// ReadAudit implements Storage.
func (m *Memory) ReadAudit(_ context.Context, q Query) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []Record{}
	if q.Newest {
		i := sort.Search(len(m.recs), func(i int) bool { return q.Before > 0 && m.recs[i].Seq >= q.Before }) - 1
		for ; i >= 0 && len(out) < q.Limit; i-- {
			if q.Filter.Match(&m.recs[i]) {
				out = append(out, m.recs[i])
			}
		}
		return out, nil
	}
	i := sort.Search(len(m.recs), func(i int) bool { return m.recs[i].Seq > q.After })
	for ; i < len(m.recs) && len(out) < q.Limit; i++ {
		if q.Filter.Match(&m.recs[i]) {
			out = append(out, m.recs[i])
		}
	}
	return out, nil
}

// Tamper applies change to the stored record seq.
func (m *Memory) Tamper(seq int64, change func(*Record)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.recs {
		if m.recs[i].Seq == seq {
			change(&m.recs[i])
		}
	}
}

// WrappedAuditKey implements KeyStorage.
func (m *Memory) WrappedAuditKey(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.key), nil
}

// PutWrappedAuditKey implements KeyStorage.
func (m *Memory) PutWrappedAuditKey(_ context.Context, wrapped []byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.key == nil {
		m.key = bytes.Clone(wrapped)
	}
	return bytes.Clone(m.key), nil
}
