package errcode_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/lockwell/lockwell/shared/errcode"
)

func TestOfReadsTheFirstCodeInTheChain(t *testing.T) {
	inner := errcode.New(errcode.NotFound, "secret %q not found", "db")
	outer := fmt.Errorf("get: %w", inner)
	assert.Equal(t, errcode.NotFound, errcode.Of(outer))
	assert.Equal(t, `secret "db" not found`, errcode.Message(outer))
	assert.True(t, errcode.Is(outer, errcode.NotFound))
}

func TestUnclassifiedErrorsAreInternalWithAGenericMessage(t *testing.T) {
	err := errors.New("driver said: password=hunter2")
	assert.Equal(t, errcode.Internal, errcode.Of(err))
	assert.Equal(t, "internal error", errcode.Message(err))
	assert.Equal(t, errcode.Code(""), errcode.Of(nil))
}

func TestDeadlinesAreUnavailable(t *testing.T) {
	err := fmt.Errorf("query: %w", context.DeadlineExceeded)
	assert.Equal(t, errcode.Unavailable, errcode.Of(err))
	assert.NotContains(t, errcode.Message(err), "query")
}

func TestWrapKeepsTheCauseForLogsButNotTheMessage(t *testing.T) {
	cause := errors.New("connection reset")
	err := errcode.Wrap(errcode.Unavailable, cause, "database unavailable")
	assert.ErrorIs(t, err, cause)
	assert.Equal(t, "database unavailable", errcode.Message(err))
}
