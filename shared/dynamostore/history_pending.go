package dynamostore

// TRANSITIONAL: replaced by the real history implementation before this
// branch merges. These make the package build against the new contract.

import (
	"context"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

func (b *Backend) Versions(ctx context.Context, id string) ([]*secret.Secret, error) {
	return nil, errcode.New(errcode.Internal, "versions not implemented yet")
}

func (b *Backend) GetVersion(ctx context.Context, id string, version int64) (*secret.Secret, error) {
	return nil, errcode.New(errcode.Internal, "versions not implemented yet")
}

func (b *Backend) Expired(ctx context.Context, t time.Time, limit int) ([]*secret.Secret, error) {
	return nil, errcode.New(errcode.Internal, "expiry not implemented yet")
}
