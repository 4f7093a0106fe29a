// Package azurekeyvault is a local Azure Key Vault for secrets: an
// in-memory implementation of the real REST API (any api-version; the
// azsecrets SDK sends 2026-04-01, older 7.x clients work too) over HTTPS with
// a self-signed certificate made at start, and with Key Vault's bearer
// challenge flow. The official client (azsecrets) talks to it unchanged.
// Tests, the migration tests (which seed legacy ZenML entries through the
// same client) and `make dev` use it; Microsoft ships no Key Vault emulator.
//
// Connect the official client with
//
//	azsecrets.NewClient(srv.URL(), cred, &azsecrets.ClientOptions{
//		ClientOptions: azcore.ClientOptions{Transport: srv.Client()},
//		DisableChallengeResourceVerification: true, // the vault is not *.vault.azure.net
//	})
//
// where cred is any azcore.TokenCredential, or azidentity's managed identity
// credential pointed at the server's own token endpoint (IDENTITY_ENDPOINT =
// srv.IdentityEndpoint(), IDENTITY_HEADER = srv.IdentityHeader(); see
// package doc of the value store). A request without a bearer token gets 401
// and `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/TENANT",
// resource="https://vault.azure.net"`; any non-empty token is accepted unless
// Config.StrictTokens asks for tokens this server issued.
//
// Implemented: PUT /secrets/{name}; GET /secrets/{name}[/{version}];
// PATCH /secrets/{name}[/{version}]; GET /secrets and
// /secrets/{name}/versions (paged with maxresults, at most 25, and nextLink);
// DELETE /secrets/{name} (soft delete); GET /deletedsecrets[/{name}];
// DELETE /deletedsecrets/{name} (purge); POST /deletedsecrets/{name}/recover.
// Errors use Key Vault's shape {"error":{"code","message","innererror"}}:
// SecretNotFound (404), BadParameter (400), Forbidden/SecretDisabled (403)
// for reading a disabled version, Conflict/ObjectIsDeletedButRecoverable
// (409) for setting a soft-deleted name, Unauthorized (401). Names are
// [0-9a-zA-Z-]{1,127}, compared case-insensitively as in Key Vault; values
// are at most MaxValueBytes; at most 15 tags. Deletion and recovery finish
// at once unless Config.SettleDelay makes them take time, as Key Vault does.
// Backup/restore and certificates are not implemented. Nothing is persisted.
//
// The server binds to 127.0.0.1 only and never logs values or tokens. It is
// safe for concurrent use.
package azurekeyvault

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// MaxValueBytes is the largest secret value the vault accepts (Key Vault
// documents 25 KB).
const MaxValueBytes = 25 * 1024

// Resource is the audience Key Vault tokens are for.
const Resource = "https://vault.azure.net"

// Config tunes a server. The zero value is a vault that accepts any bearer
// token, in tenant "lockwell-local", with 90 recoverable days.
type Config struct {
	Tenant string // in the challenge's authorization URL
	// StrictTokens accepts only tokens issued by the identity endpoint of a
	// local vault in this process (not only this one: MSAL caches managed
	// identity tokens process-wide, so a second server in a test binary is
	// offered the first one's token).
	StrictTokens    bool
	RecoverableDays int // shown in attributes and scheduledPurgeDate
	// SettleDelay makes soft delete and recovery take time, as they do in
	// Key Vault: for this long after a delete the name is neither live nor
	// listed as deleted (setting it is 409 ObjectIsBeingDeleted, purging or
	// recovering it 409), and after a recovery the secret is not yet
	// readable (404; setting it is 409 ObjectIsBeingRecovered).
	SettleDelay time.Duration
	// Now is the clock of SettleDelay and of the dates the vault reports;
	// nil means time.Now. Tests set it to move time instead of sleeping.
	Now func() time.Time
}

// issued holds the tokens the identity endpoints of this process issued.
var issued = struct {
	sync.Mutex
	tokens map[string]bool
}{tokens: map[string]bool{}}

// Server is a running local Key Vault. Its methods are safe for concurrent
// use.
type Server struct {
	cfg       Config
	vault     *http.Server
	vaultLn   net.Listener
	identity  *http.Server
	identLn   net.Listener
	certPEM   []byte
	pool      *x509.CertPool
	idHeader  string
	startedAt time.Time

	mu      sync.Mutex
	secrets map[string]*secretEntry // by lowercase name
	deleted map[string]*deletedEntry
	faults  map[string][]fault
	calls   map[string]int
}

type fault struct {
	status     int
	retryAfter time.Duration
}

// Start starts a server on free ports of 127.0.0.1.
func Start(cfg Config) (*Server, error) { return Listen("127.0.0.1:0", "127.0.0.1:0", cfg) }

// Listen starts the vault (HTTPS) on vaultAddr and the managed-identity token
// endpoint (plain HTTP, as App Service's is) on identityAddr; both must be
// loopback addresses.
func Listen(vaultAddr, identityAddr string, cfg Config) (*Server, error) {
	if cfg.Tenant == "" {
		cfg.Tenant = "lockwell-local"
	}
	if cfg.RecoverableDays == 0 {
		cfg.RecoverableDays = 90
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	for _, addr := range []string{vaultAddr, identityAddr} {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return nil, errors.New("local Key Vault must listen on a loopback address")
		}
	}
	certPEM, cert, err := selfSignedCert()
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	s := &Server{
		cfg: cfg, certPEM: certPEM, pool: pool, idHeader: randomHex(16), startedAt: time.Now(),
		secrets: map[string]*secretEntry{}, deleted: map[string]*deletedEntry{},
		faults: map[string][]fault{}, calls: map[string]int{},
	}
	if s.vaultLn, err = net.Listen("tcp", vaultAddr); err != nil {
		return nil, err
	}
	if s.identLn, err = net.Listen("tcp", identityAddr); err != nil {
		_ = s.vaultLn.Close()
		return nil, err
	}
	s.vault = &http.Server{
		Handler:           http.HandlerFunc(s.serveVault),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	s.identity = &http.Server{Handler: http.HandlerFunc(s.serveIdentity), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.vault.ServeTLS(s.vaultLn, "", "") }()
	go func() { _ = s.identity.Serve(s.identLn) }()
	return s, nil
}

// URL is the vault URL, https://127.0.0.1:PORT.
func (s *Server) URL() string { return "https://" + s.vaultLn.Addr().String() }

// CertPool trusts the server's certificate.
func (s *Server) CertPool() *x509.CertPool { return s.pool }

// CACertPEM is the server's self-signed certificate in PEM form.
func (s *Server) CACertPEM() []byte { return append([]byte{}, s.certPEM...) }

// WriteCACert writes CACertPEM to path, for LOCKWELL_AZURE_KEYVAULT_CA_FILE.
func (s *Server) WriteCACert(path string) error { return os.WriteFile(path, s.certPEM, 0o644) }

// Client is an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12}}}
}

// IdentityEndpoint is the managed-identity token endpoint for
// IDENTITY_ENDPOINT (App Service style: GET with resource and api-version,
// header X-IDENTITY-HEADER).
func (s *Server) IdentityEndpoint() string {
	return "http://" + s.identLn.Addr().String() + "/msi/token"
}

// IdentityHeader is the value for IDENTITY_HEADER that the token endpoint
// requires.
func (s *Server) IdentityHeader() string { return s.idHeader }

// Close stops the server at once.
func (s *Server) Close() {
	_ = s.vault.Close()
	_ = s.identity.Close()
}

// FailNext makes the next n authenticated calls of operation fail with
// status (429 or 5xx) before the operation runs; for 429 and 503 the
// response carries Retry-After (whole seconds, at least 1) and
// retry-after-ms with retryAfter. Operations: SetSecret, GetSecret,
// UpdateSecret, ListSecrets, ListSecretVersions, DeleteSecret,
// GetDeletedSecret, ListDeletedSecrets, PurgeDeletedSecret,
// RecoverDeletedSecret, or "*" for any.
func (s *Server) FailNext(operation string, status int, n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[operation] = append(s.faults[operation], fault{status, retryAfter})
	}
}

// Calls reports how many authenticated calls of operation arrived, injected
// failures included.
func (s *Server) Calls(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[operation]
}

func (s *Server) serveIdentity(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/msi/token" || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("X-IDENTITY-HEADER") != s.idHeader {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid X-IDENTITY-HEADER"})
		return
	}
	resource := r.URL.Query().Get("resource")
	if resource != Resource && resource != Resource+"/" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "this local identity endpoint issues tokens for " + Resource + " only"})
		return
	}
	token := randomHex(24)
	issued.Lock()
	issued.tokens[token] = true
	issued.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": token,
		"expires_on":   strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
		"resource":     resource,
		"token_type":   "Bearer",
		"client_id":    "00000000-0000-0000-0000-000000000000",
	})
}

func selfSignedCert() ([]byte, tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Lockwell local Key Vault"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	return certPEM, cert, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
