// Command echo is a minimal Lambda bootstrap for the emulator's own test: it
// answers every event with the event itself.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

type echo struct{}

func (echo) Invoke(_ context.Context, payload []byte) ([]byte, error) { return payload, nil }

func main() { lambda.Start(echo{}) }
