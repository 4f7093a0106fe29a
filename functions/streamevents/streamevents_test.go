package streamevents_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/functions/streamevents"
	"github.com/lockwell/lockwell/localdev/awsjson"
	localeb "github.com/lockwell/lockwell/localdev/eventbridge"
	"github.com/lockwell/lockwell/localdev/rie"
	"github.com/lockwell/lockwell/localdev/testenv"
)

const root = "../.."

const (
	secretA = "0193a5f0-0000-7000-8000-00000000000a"
	secretB = "0193a5f0-0000-7000-8000-00000000000b"
)

// detail is what an entry's detail holds.
type detail struct {
	Type      string    `json:"type"`
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Private   bool      `json:"private"`
	Owner     string    `json:"owner"`
	Version   int64     `json:"version"`
	Principal string    `json:"principal"`
	Time      time.Time `json:"time"`
}

// want is what the sample stream (localdev/events/dynamodb-stream.json)
// must become: the secrets' changes in commit order; the name item, the
// token item and the MODIFY that made no version are not events.
var want = []detail{
	{"created", secretA, "db", false, "alice", 1, "alice", at(1)},
	{"created", secretB, "mine", true, "bob", 1, "", at(1)},
	{"updated", secretA, "db", false, "alice", 2, "bob", at(2)},
	{"rolled_back", secretA, "db", false, "alice", 3, "alice", at(3)},
	{"deleted", secretA, "db", false, "alice", 4, "alice", at(6)},
	{"restored", secretA, "db", false, "alice", 5, "carol", at(5)},
	{"purged", secretA, "db", false, "alice", 5, "", time.Unix(1764871909, 0).UTC()},
}

func at(minute int) time.Time { return time.Date(2026, 12, 4, 18, minute, 0, 0, time.UTC) }

func sample(t *testing.T) []byte {
	b, err := os.ReadFile(filepath.Join(root, "localdev", "events", "dynamodb-stream.json"))
	require.NoError(t, err)
	return b
}

func assertEntries(t *testing.T, got []localeb.Entry) {
	t.Helper()
	require.Len(t, got, len(want))
	for i, e := range got {
		var d detail
		require.NoError(t, json.Unmarshal(e.Detail, &d))
		assert.Equal(t, want[i], d, "entry %d", i)
		assert.Equal(t, "lockwell", e.Source)
		assert.Equal(t, want[i].Type, e.DetailType)
		assert.Equal(t, "lockwell-events", e.Bus)
		assert.NotContains(t, string(e.Detail), "sealed")
		assert.NotContains(t, string(e.Detail), "password")
	}
}

func client(t *testing.T, endpoint string) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", ""),
	})
}

func TestStreamRecordsBecomeEventBridgeEntriesInOrder(t *testing.T) {
	bus, endpoint := localeb.Start(t, "lockwell-events")
	var batch events.DynamoDBEvent
	require.NoError(t, json.Unmarshal(sample(t), &batch))
	h := streamevents.Handler{Client: client(t, endpoint), Bus: "lockwell-events"}
	res, err := h.Handle(context.Background(), batch)
	require.NoError(t, err)
	assert.Empty(t, res.BatchItemFailures)
	assertEntries(t, bus.Entries())
}

func TestAFailedPutIsRetriedFromItsRecordOn(t *testing.T) {
	bus, endpoint := localeb.Start(t, "lockwell-events")
	var batch events.DynamoDBEvent
	require.NoError(t, json.Unmarshal(sample(t), &batch))
	bus.InjectFault("PutEvents", &awsjson.Error{Status: 400, Type: "AccessDeniedException", Message: "denied"})
	h := streamevents.Handler{Client: client(t, endpoint), Bus: "lockwell-events"}
	res, err := h.Handle(context.Background(), batch)
	require.NoError(t, err)
	// Every record is reported, from the first secret change on.
	require.Len(t, res.BatchItemFailures, len(batch.Records))
	assert.Equal(t, "101", res.BatchItemFailures[0].ItemIdentifier)
	assert.Empty(t, bus.Entries())

	// An unknown bus fails the entries themselves.
	h.Bus = "no-such-bus"
	res, err = h.Handle(context.Background(), batch)
	require.NoError(t, err)
	assert.Len(t, res.BatchItemFailures, len(batch.Records))
}

// TestTheFunctionUnderTheEmulator builds the bootstrap as Lambda runs it
// and feeds it the sample stream event through the Runtime Interface
// Emulator; the function's own SDK client puts the entries on the local
// EventBridge.
func TestTheFunctionUnderTheEmulator(t *testing.T) {
	emu := emulatorPath(t)
	bus, endpoint := localeb.Start(t, "lockwell-events")
	build := t.TempDir()
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", filepath.Join(build, "bootstrap"), "./functions/events")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	ctx := context.Background()
	e, err := rie.Start(ctx, rie.Config{RIE: emu, Bootstrap: filepath.Join(build, "bootstrap"), Name: "events", Env: []string{
		"AWS_ENDPOINT_URL=" + endpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDLOCAL", "AWS_SECRET_ACCESS_KEY=local-secret", "AWS_SESSION_TOKEN=",
		"AWS_PROFILE=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"LOCKWELL_EVENT_BUS=lockwell-events",
	}})
	require.NoError(t, err)
	defer e.Close()
	raw, err := e.Invoke(ctx, sample(t))
	require.NoError(t, err, "logs: %s", e.Logs())
	var res events.DynamoDBEventResponse
	require.NoError(t, json.Unmarshal(raw, &res), "response: %s", raw)
	assert.Empty(t, res.BatchItemFailures)
	assertEntries(t, bus.Entries())
}

func emulatorPath(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(root, "localdev", "rie", "bin")
	if p, err := rie.Find(bin); err == nil {
		return p
	}
	if !testenv.InCI() {
		testenv.Missing(t, "the Lambda Runtime Interface Emulator is not installed; run: GOBIN=$PWD/localdev/rie/bin go install %s", rie.Package)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := rie.Install(ctx, bin)
	require.NoError(t, err)
	return p
}
