// Command events is the Lambda bootstrap that reads the secrets table's
// DynamoDB stream and puts a change event on the EventBridge bus named by
// LOCKWELL_EVENT_BUS for every committed change (package
// functions/streamevents).
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/lockwell/lockwell/functions/streamevents"
)

func main() {
	bus := os.Getenv("LOCKWELL_EVENT_BUS")
	if bus == "" {
		log.Fatal("LOCKWELL_EVENT_BUS is not set: name the EventBridge bus that gets the change events")
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatalf("load the AWS configuration: %v", err)
	}
	h := streamevents.Handler{Client: eventbridge.NewFromConfig(cfg), Bus: bus}
	lambda.Start(h.Handle)
}
