package main

import (
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/lockwell/lockwell/migrate/dynamojobs"
)

// fragment is the part of the top-level template.yaml the test reads.
type fragment struct {
	Resources struct {
		MigrationQueue struct {
			Properties struct {
				VisibilityTimeout int `yaml:"VisibilityTimeout"`
				RedrivePolicy     struct {
					DeadLetterTargetArn string `yaml:"deadLetterTargetArn"`
					MaxReceiveCount     int    `yaml:"maxReceiveCount"`
				} `yaml:"RedrivePolicy"`
			} `yaml:"Properties"`
		} `yaml:"MigrationQueue"`
		MigrationJobsTable struct {
			Properties struct {
				BillingMode string `yaml:"BillingMode"`
				KeySchema   []struct {
					AttributeName string `yaml:"AttributeName"`
					KeyType       string `yaml:"KeyType"`
				} `yaml:"KeySchema"`
			} `yaml:"Properties"`
		} `yaml:"MigrationJobsTable"`
		MigrateSecretsFunction struct {
			Metadata struct {
				BuildMethod string `yaml:"BuildMethod"`
			} `yaml:"Metadata"`
			Properties struct {
				Timeout     int `yaml:"Timeout"`
				Environment struct {
					Variables map[string]string `yaml:"Variables"`
				} `yaml:"Environment"`
				Events map[string]struct {
					Type       string `yaml:"Type"`
					Properties struct {
						Queue                 string   `yaml:"Queue"`
						BatchSize             int      `yaml:"BatchSize"`
						FunctionResponseTypes []string `yaml:"FunctionResponseTypes"`
						ScalingConfig         struct {
							MaximumConcurrency int `yaml:"MaximumConcurrency"`
						} `yaml:"ScalingConfig"`
					} `yaml:"Properties"`
				} `yaml:"Events"`
			} `yaml:"Properties"`
		} `yaml:"MigrateSecretsFunction"`
	} `yaml:"Resources"`
}

func TestTemplateFragment(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	var f fragment
	require.NoError(t, yaml.Unmarshal(raw, &f))
	fn := f.Resources.MigrateSecretsFunction
	require.Equal(t, "makefile", fn.Metadata.BuildMethod)
	ev, ok := fn.Properties.Events["Migrate"]
	require.True(t, ok)
	require.Equal(t, "SQS", ev.Type)
	require.Equal(t, "MigrationQueue.Arn", ev.Properties.Queue)
	require.GreaterOrEqual(t, ev.Properties.BatchSize, 10)
	require.Contains(t, ev.Properties.FunctionResponseTypes, "ReportBatchItemFailures")
	require.Positive(t, ev.Properties.ScalingConfig.MaximumConcurrency, "bounded concurrency")

	q := f.Resources.MigrationQueue.Properties
	require.Equal(t, "MigrationDeadLetterQueue.Arn", q.RedrivePolicy.DeadLetterTargetArn)
	require.Equal(t, strconv.Itoa(q.RedrivePolicy.MaxReceiveCount), fn.Properties.Environment.Variables["LOCKWELL_MIGRATE_MAX_RECEIVES"],
		"the function records a failure on the delivery that sends the message to the DLQ")
	require.GreaterOrEqual(t, q.VisibilityTimeout, 6*fn.Properties.Timeout)

	table := f.Resources.MigrationJobsTable.Properties
	require.Equal(t, "PAY_PER_REQUEST", table.BillingMode)
	want := dynamojobs.TableDefinition("t")
	var got []string
	for _, k := range table.KeySchema {
		got = append(got, k.AttributeName+"/"+k.KeyType)
	}
	var wantKeys []string
	for _, k := range want.KeySchema {
		wantKeys = append(wantKeys, *k.AttributeName+"/"+string(k.KeyType))
	}
	require.True(t, slices.Equal(wantKeys, got), "jobs table key schema %v, the store uses %v", got, wantKeys)
}
