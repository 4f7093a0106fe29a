// Command awssecretsmanager-local runs the local AWS Secrets Manager
// (package localdev/awssecretsmanager) until interrupted, for `make dev`
// with LOCKWELL_VALUES=awssecretsmanager://... It prints the variables that
// point the SDK's default chain at it. Data lives in memory only; requests
// must be SigV4-signed but any credentials are accepted.
//
//	awssecretsmanager-local -addr 127.0.0.1:4584
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/lockwell/lockwell/localdev/awssecretsmanager"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4584", "loopback host:port to listen on")
	flag.Parse()
	endpoint, stop, err := awssecretsmanager.New().Listen(*addr)
	if err != nil {
		log.Fatalf("awssecretsmanager-local: %v", err)
	}
	defer stop()
	fmt.Printf("export AWS_ENDPOINT_URL_SECRETS_MANAGER=%s\n", endpoint)
	fmt.Printf("export AWS_REGION=%s\n", awssecretsmanager.DefaultRegion)
	// Placeholders: the SDK signs with them, the local server checks none.
	fmt.Printf("export AWS_ACCESS_KEY_ID=AKIDLOCAL AWS_SECRET_ACCESS_KEY=local\n")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
