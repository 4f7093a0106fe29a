// Command azurekeyvault-local runs the local Azure Key Vault (package
// localdev/azurekeyvault) until interrupted, for `make dev`. It writes the
// vault's self-signed certificate to -ca and prints the variables that point
// Lockwell's azurekeyvault value store at it, authenticating through
// DefaultAzureCredential's managed identity served by the same process.
// Data lives in memory only.
//
//	azurekeyvault-local -addr 127.0.0.1:8443 -identity-addr 127.0.0.1:8444 -ca .dev/keyvault-ca.pem
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/lockwell/lockwell/localdev/azurekeyvault"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "loopback host:port for the vault (HTTPS)")
	identityAddr := flag.String("identity-addr", "127.0.0.1:8444", "loopback host:port for the managed-identity token endpoint (HTTP)")
	caPath := flag.String("ca", "keyvault-ca.pem", "where to write the vault's certificate (PEM)")
	strict := flag.Bool("strict-tokens", true, "accept only tokens issued by the token endpoint")
	flag.Parse()
	srv, err := azurekeyvault.Listen(*addr, *identityAddr, azurekeyvault.Config{StrictTokens: *strict})
	if err != nil {
		log.Fatalf("azurekeyvault-local: %v", err)
	}
	defer srv.Close()
	ca, err := filepath.Abs(*caPath)
	if err == nil {
		err = srv.WriteCACert(ca)
	}
	if err != nil {
		log.Fatalf("azurekeyvault-local: write certificate: %v", err)
	}
	fmt.Printf("export LOCKWELL_AZURE_KEYVAULT_ENDPOINT=%s\n", srv.URL())
	fmt.Printf("export LOCKWELL_AZURE_KEYVAULT_CA_FILE=%s\n", ca)
	fmt.Printf("export AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential\n")
	fmt.Printf("export IDENTITY_ENDPOINT=%s\n", srv.IdentityEndpoint())
	// The identity header is a local shared secret between this process and
	// the dev stack, not a cloud credential.
	fmt.Printf("export IDENTITY_HEADER=%s\n", srv.IdentityHeader())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
}
