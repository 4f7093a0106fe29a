// Package awsdev starts the local stand-ins of the AWS deployment's store for
// `make dev STORE=dynamodb`: dynalite (DynamoDB, persisted under the data
// directory) and the local KMS (localdev/kms) with a key whose material is
// kept in a key file next to the data, so that what was stored stays
// readable across restarts. Both listen on 127.0.0.1 only.
//
// The local server then opens the store exactly as a Lambda function does,
// through the SDK's default chain and the standard endpoint variables
// (Stack.Env), with StoreURL and KeyURL.
package awsdev

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lockwell/lockwell/localdev/dynalite"
	"github.com/lockwell/lockwell/localdev/kms"
	"github.com/lockwell/lockwell/shared/envelope"
)

// The development table and key.
const (
	Table    = "lockwell-dev"
	KeyAlias = "alias/lockwell-dev"
	keyID    = "6c0c5f8e-2d4b-4c1e-9b7a-6f1d2e3c4b5a"
)

// Stack is a running dynalite and local KMS.
type Stack struct {
	Dynalite *dynalite.Process
	KMS      *kms.Server
	// StoreURL and KeyURL are LOCKWELL_STORE and LOCKWELL_KEY.
	StoreURL, KeyURL string
	// Env points the SDK's default chain at the stand-ins: endpoints,
	// region, and placeholder credentials (the stand-ins check none).
	Env map[string]string
}

// Start starts both stand-ins with their state under dataDir (created with
// mode 0700). Errors: dynalite.ErrNotInstalled, or why a stand-in did not
// start.
func Start(ctx context.Context, dataDir string) (*Stack, error) {
	dbDir := filepath.Join(dataDir, "dynalite")
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return nil, err
	}
	material, _, err := envelope.LoadOrCreateKeyFile(filepath.Join(dataDir, "kms-dev.key"))
	if err != nil {
		return nil, err
	}
	defer clear(material)
	keys, err := kms.Start()
	if err != nil {
		return nil, err
	}
	if err := keys.AddKey(keyID, KeyAlias, material); err != nil {
		keys.Close()
		return nil, err
	}
	dyn, err := dynalite.Start(ctx, dynalite.Options{Dir: dbDir})
	if err != nil {
		keys.Close()
		return nil, err
	}
	return &Stack{
		Dynalite: dyn, KMS: keys,
		StoreURL: fmt.Sprintf("dynamodb://%s?create_table=true", Table),
		KeyURL:   "awskms://" + KeyAlias,
		Env: map[string]string{
			"AWS_ENDPOINT_URL_DYNAMODB": dyn.Endpoint(),
			"AWS_ENDPOINT_URL_KMS":      keys.URL(),
			"AWS_REGION":                kms.Region,
			"AWS_ACCESS_KEY_ID":         "local-dev",
			"AWS_SECRET_ACCESS_KEY":     "local-dev",
			"AWS_EC2_METADATA_DISABLED": "true",
		},
	}, nil
}

// Setenv sets Env in this process, for a server that opens the store here.
func (s *Stack) Setenv() error {
	for k, v := range s.Env {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}

// Close stops both stand-ins.
func (s *Stack) Close() error {
	err := s.Dynalite.Stop()
	if kerr := s.KMS.Close(); err == nil {
		err = kerr
	}
	return err
}
