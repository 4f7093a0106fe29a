// Command vault-local runs the local HashiCorp Vault (package localdev/vault)
// until interrupted, for `make dev` with LOCKWELL_VALUES=hashivault://...
// It has a KV v2 mount "secret" in the root namespace plus any -kv mounts,
// and prints the variables that point Lockwell's hashivault store at it.
// Data lives in memory only.
//
// The root token is taken from VAULT_DEV_ROOT_TOKEN_ID when set (as
// "vault server -dev" does), else generated and printed: it is a token of
// this throwaway local server, never a real credential. With
// LOCAL_VAULT_APPROLE=1 it also accepts AppRole login with the role and
// secret ids printed.
//
//	vault-local -addr 127.0.0.1:8200 -kv kv -kv team-a:secret
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/lockwell/lockwell/localdev/vault"
)

type mounts []string

func (m *mounts) String() string     { return strings.Join(*m, ",") }
func (m *mounts) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	addr := flag.String("addr", "127.0.0.1:8200", "loopback host:port to listen on")
	var kv mounts
	flag.Var(&kv, "kv", "extra KV v2 mount, MOUNT or NAMESPACE:MOUNT (repeatable)")
	flag.Parse()
	srv := vault.New()
	if tok := os.Getenv("VAULT_DEV_ROOT_TOKEN_ID"); tok != "" {
		srv.RootToken = srv.AddRootToken(tok)
	}
	for _, m := range kv {
		ns, mount, ok := strings.Cut(m, ":")
		if !ok {
			ns, mount = "", m
		}
		srv.EnableKV(ns, mount)
	}
	address, stop, err := srv.Listen(*addr)
	if err != nil {
		log.Fatalf("vault-local: %v", err)
	}
	defer stop()
	fmt.Printf("export VAULT_ADDR=%s\n", address)
	if os.Getenv("LOCAL_VAULT_APPROLE") == "1" {
		srv.AddAppRole("", vault.AppRole{RoleID: "lockwell-dev", SecretID: "lockwell-dev-secret"})
		fmt.Printf("export VAULT_ROLE_ID=lockwell-dev VAULT_SECRET_ID=lockwell-dev-secret\n")
	} else {
		fmt.Printf("export VAULT_TOKEN=%s\n", srv.RootToken)
	}
	fmt.Printf("# LOCKWELL_VALUES=hashivault://%s/secret?tls=false\n", strings.TrimPrefix(address, "http://"))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
