package audit

import "context"

// RequestFacts are what the transport knows about a request and the store
// does not: its id, the client's address and user agent. The HTTP API puts
// them into every request's context (WithRequest); package store reads them
// when it writes a record.
type RequestFacts struct {
	ID         string
	ClientAddr string
	UserAgent  string
}

type factsKey struct{}

// WithRequest returns ctx carrying f.
func WithRequest(ctx context.Context, f RequestFacts) context.Context {
	return context.WithValue(ctx, factsKey{}, f)
}

// RequestFrom returns the facts ctx carries (zero when none).
func RequestFrom(ctx context.Context) RequestFacts {
	f, _ := ctx.Value(factsKey{}).(RequestFacts)
	return f
}

// Fill sets r's request fields from the facts ctx carries.
func Fill(ctx context.Context, r *Record) {
	f := RequestFrom(ctx)
	r.RequestID, r.ClientAddr, r.UserAgent = f.ID, f.ClientAddr, f.UserAgent
}
