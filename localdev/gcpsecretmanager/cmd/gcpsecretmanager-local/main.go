// Command gcpsecretmanager-local runs the local GCP Secret Manager
// (package localdev/gcpsecretmanager) until interrupted, for `make dev`. It
// prints the variable that points Lockwell's gcpsecretmanager value store at
// it. Data lives in memory only.
//
//	gcpsecretmanager-local -addr 127.0.0.1:8085
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/lockwell/lockwell/localdev/gcpsecretmanager"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8085", "loopback host:port to listen on")
	flag.Parse()
	srv, err := gcpsecretmanager.Listen(*addr)
	if err != nil {
		log.Fatalf("gcpsecretmanager-local: %v", err)
	}
	defer srv.Close()
	fmt.Printf("export LOCKWELL_GCP_SECRETMANAGER_ENDPOINT=%s\n", srv.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
}
