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
// the targets: get is one read, create two writes, an update with history
// a read and two writes, a purge one write per version more than before,
// a list page one or two queries, KMS at most one call per get and none
// when warm.
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
	assert.Equal(t, map[string]float64{"GetItem": 1, "UpdateItem": 2}, byOp["update"].DynamoDB,
		"update with history: read, copy the replaced version, write")
	assert.Equal(t, map[string]float64{"UpdateItem": 3, "DeleteItem": 2}, byOp["delete"].DynamoDB,
		"purge of a secret with one past version: mark, claim, two tombstones, the secret")
	list := byOp["list page (5 items)"].DynamoDB["Query"]
	assert.True(t, list >= 1 && list <= 2, "a list page is one or two queries, got %.2f", list)
}
