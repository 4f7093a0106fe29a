package retry_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/retry"
)

var fast = retry.Policy{Attempts: 4, Base: time.Millisecond, Max: 2 * time.Millisecond}

func TestRetriesUnavailableUntilSuccess(t *testing.T) {
	calls := 0
	err := retry.Do(context.Background(), fast, func(context.Context) error {
		calls++
		if calls < 3 {
			return errcode.New(errcode.Unavailable, "throttled")
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 3, calls)
}

func TestDoesNotRetryOtherCodes(t *testing.T) {
	calls := 0
	err := retry.Do(context.Background(), fast, func(context.Context) error {
		calls++
		return errcode.New(errcode.AlreadyExists, "exists")
	})
	assert.Equal(t, errcode.AlreadyExists, errcode.Of(err))
	assert.Equal(t, 1, calls)
}

func TestStopsAfterTheAttempts(t *testing.T) {
	calls := 0
	err := retry.Do(context.Background(), fast, func(context.Context) error {
		calls++
		return errcode.New(errcode.Unavailable, "down")
	})
	assert.Equal(t, errcode.Unavailable, errcode.Of(err))
	assert.Equal(t, 4, calls)
}

func TestStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := retry.Do(ctx, retry.Policy{Attempts: 100, Base: 50 * time.Millisecond, Max: 50 * time.Millisecond}, func(context.Context) error {
		calls++
		cancel()
		return errcode.New(errcode.Unavailable, "down")
	})
	assert.Equal(t, errcode.Unavailable, errcode.Of(err))
	assert.Equal(t, 1, calls)
}
