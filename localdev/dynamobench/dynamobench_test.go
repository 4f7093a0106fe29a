package dynamobench_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/dynalite"
	"github.com/lockwell/lockwell/localdev/dynamobench"
	"github.com/lockwell/lockwell/localdev/testenv"
)

// TestRunReportsCallBudgets runs a small bench and holds the call counts to
// the targets: get is one read, writes are one or two, a list page one or
// two queries, KMS at most one call per get and none when warm.
func TestRunReportsCallBudgets(t *testing.T) {
	var out bytes.Buffer
	res, err := dynamobench.Run(context.Background(), &out, dynamobench.Options{Secrets: 20, Concurrency: 2, PageSize: 5})
	if errors.Is(err, dynalite.ErrNotInstalled) {
		testenv.Missing(t, "%v", err)
	}
	require.NoError(t, err)
	t.Log("\n" + out.String())
	byOp := map[string]dynamobench.Result{}
	for _, r := range res {
		byOp[r.Op] = r
	}
	assert.Equal(t, map[string]float64{"PutItem": 2}, byOp["create"].DynamoDB)
	assert.Equal(t, map[string]float64{"GenerateDataKey": 1}, byOp["create"].KMS)
	assert.Equal(t, map[string]float64{"GetItem": 1}, byOp["get (cold key cache)"].DynamoDB)
	assert.Equal(t, map[string]float64{"Decrypt": 1}, byOp["get (cold key cache)"].KMS)
	assert.Empty(t, byOp["get (warm key cache)"].KMS)
	assert.Equal(t, map[string]float64{"UpdateItem": 1}, byOp["update"].DynamoDB)
	assert.Equal(t, map[string]float64{"DeleteItem": 2}, byOp["delete"].DynamoDB)
	list := byOp["list page (5 items)"].DynamoDB["Query"]
	assert.True(t, list >= 1 && list <= 2, "a list page is one or two queries, got %.2f", list)
}
