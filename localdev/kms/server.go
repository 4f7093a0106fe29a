// Package kms is a local AWS KMS: an in-memory server that speaks the KMS
// JSON 1.1 wire protocol (target prefix "TrentService") to the official
// client (github.com/aws/aws-sdk-go-v2/service/kms) unchanged. Tests of the
// awskms key wrapper and of the DynamoDB backend, `make dev STORE=dynamodb`
// and `make bench` use it; there is no usable KMS emulator on these machines.
//
// Point the official client at it with the standard environment variable
// AWS_ENDPOINT_URL_KMS=srv.URL() (any static credentials; signatures must be
// present but are not verified).
//
// Operations: CreateKey (symmetric keys only), DescribeKey, CreateAlias,
// ListAliases, Encrypt, Decrypt, GenerateDataKey. Keys are named by key id,
// key ARN, alias name ("alias/x") or alias ARN, as on AWS. Encryption is real
// AES-256-GCM under per-key random material; the encryption context is the
// authenticated data, so Decrypt with a different context fails with
// InvalidCiphertextException, and Decrypt with a KeyId other than the one
// that encrypted fails with IncorrectKeyException, as on AWS. Ciphertexts
// carry their key id, so Decrypt needs no KeyId. Grants, key policies,
// rotation, asymmetric keys and multi-region keys are not implemented.
// Nothing is persisted: a restarted server has forgotten its keys.
//
// Faults are injected and calls counted through the embedded awsjson.Server
// (InjectFault, Calls). The server binds to 127.0.0.1 only and never logs
// plaintext or key material. It is safe for concurrent use.
package kms

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/lockwell/lockwell/localdev/awsjson"
)

// Region and Account are what the server puts into ARNs.
const (
	Region  = "us-east-1"
	Account = "000000000000"
)

// MaxPlaintext is the largest plaintext Encrypt accepts (4096 bytes, as on
// AWS).
const MaxPlaintext = 4096

// Server is a local KMS. Create one with New (handler only) or Start (also
// listening). Its methods are safe for concurrent use.
type Server struct {
	*awsjson.Server

	mu      sync.Mutex
	keys    map[string]*key   // by key id
	aliases map[string]string // alias name → key id

	listener net.Listener
	http     *http.Server
}

type key struct {
	id          string
	description string
	created     time.Time
	aead        cipher.AEAD
}

// New returns a server that is only an http.Handler; Start also listens.
func New() *Server {
	s := &Server{Server: awsjson.NewServer("TrentService", "1.1"), keys: map[string]*key{}, aliases: map[string]string{}}
	s.Handle("CreateKey", s.createKey)
	s.Handle("DescribeKey", s.describeKey)
	s.Handle("CreateAlias", s.createAlias)
	s.Handle("ListAliases", s.listAliases)
	s.Handle("Encrypt", s.encrypt)
	s.Handle("Decrypt", s.decrypt)
	s.Handle("GenerateDataKey", s.generateDataKey)
	return s
}

// Start starts a server on a free port of 127.0.0.1.
func Start() (*Server, error) { return Listen("127.0.0.1:0") }

// Listen starts a server on addr, which must be a loopback address.
func Listen(addr string) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("local KMS listens on loopback only, not %q", host)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := New()
	s.listener = ln
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

// URL returns the endpoint of a started server, for AWS_ENDPOINT_URL_KMS.
func (s *Server) URL() string { return "http://" + s.listener.Addr().String() }

// Close stops a started server.
func (s *Server) Close() error {
	if s.http == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.http.Shutdown(ctx)
}

// CreateKey makes a symmetric key without going through the protocol, for
// tests and dev setups, and returns its id. A non-empty alias ("alias/x")
// is pointed at it.
func (s *Server) CreateKey(description, alias string) (string, error) {
	k, err := newKey(description)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if alias != "" {
		if err := validAlias(alias); err != nil {
			return "", err
		}
		if _, dup := s.aliases[alias]; dup {
			return "", awsjson.Errorf("AlreadyExistsException", "alias %s already exists", alias)
		}
		s.aliases[alias] = k.id
	}
	s.keys[k.id] = k
	return k.id, nil
}

// AddKey adds a key with given id and 32 bytes of material, and points a
// non-empty alias at it. It lets a development stack keep its key across
// restarts (material from a key file, for example
// envelope.LoadOrCreateKeyFile), so that data persisted by dynalite --path
// stays readable. The id must be a UUID.
func (s *Server) AddKey(id, alias string, material []byte) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return fmt.Errorf("key id must be a UUID")
	}
	k, err := keyFrom(id, "", material)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.keys[id]; dup {
		return awsjson.Errorf("AlreadyExistsException", "key %s already exists", id)
	}
	if alias != "" {
		if err := validAlias(alias); err != nil {
			return err
		}
		if _, dup := s.aliases[alias]; dup {
			return awsjson.Errorf("AlreadyExistsException", "alias %s already exists", alias)
		}
		s.aliases[alias] = id
	}
	s.keys[id] = k
	return nil
}

func newKey(description string) (*key, error) {
	material := make([]byte, 32)
	if _, err := rand.Read(material); err != nil {
		return nil, err
	}
	defer clear(material)
	return keyFrom(uuid.NewString(), description, material)
}

func keyFrom(id, description string, material []byte) (*key, error) {
	if len(material) != 32 {
		return nil, fmt.Errorf("key material must be 32 bytes")
	}
	block, err := aes.NewCipher(material)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &key{id: id, description: description, created: time.Now().UTC(), aead: aead}, nil
}

func keyARN(id string) string { return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", Region, Account, id) }
func aliasARN(name string) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:%s", Region, Account, name)
}

func validAlias(name string) error {
	rest, ok := strings.CutPrefix(name, "alias/")
	if !ok || rest == "" || len(name) > 256 || strings.HasPrefix(rest, "aws/") {
		return awsjson.Errorf("ValidationException", "alias name must look like alias/NAME and not start with alias/aws/")
	}
	return nil
}

// resolve finds a key by id, key ARN, alias name or alias ARN; s.mu is held.
func (s *Server) resolve(ref string) (*key, error) {
	if ref == "" {
		return nil, awsjson.Errorf("ValidationException", "KeyId is required")
	}
	id := ref
	if rest, ok := strings.CutPrefix(ref, "arn:aws:kms:"); ok {
		parts := strings.SplitN(rest, ":", 3)
		if len(parts) != 3 {
			return nil, awsjson.Errorf("NotFoundException", "invalid arn %s", ref)
		}
		id = parts[2]
		if kid, ok := strings.CutPrefix(id, "key/"); ok {
			id = kid
		}
	}
	if strings.HasPrefix(id, "alias/") {
		target, ok := s.aliases[id]
		if !ok {
			return nil, awsjson.Errorf("NotFoundException", "Alias %s is not found.", aliasARN(id))
		}
		id = target
	}
	k, ok := s.keys[id]
	if !ok {
		return nil, awsjson.Errorf("NotFoundException", "Key '%s' does not exist", keyARN(id))
	}
	return k, nil
}

func (s *Server) lookup(ref string) (*key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resolve(ref)
}

type keyMetadata struct {
	AWSAccountId          string
	Arn                   string
	CreationDate          float64
	CustomerMasterKeySpec string
	Description           string
	Enabled               bool
	EncryptionAlgorithms  []string
	KeyId                 string
	KeyManager            string
	KeySpec               string
	KeyState              string
	KeyUsage              string
	MultiRegion           bool
	Origin                string
}

func (k *key) metadata() keyMetadata {
	return keyMetadata{
		AWSAccountId: Account, Arn: keyARN(k.id), CreationDate: float64(k.created.UnixMilli()) / 1000,
		CustomerMasterKeySpec: "SYMMETRIC_DEFAULT", Description: k.description, Enabled: true,
		EncryptionAlgorithms: []string{"SYMMETRIC_DEFAULT"}, KeyId: k.id, KeyManager: "CUSTOMER",
		KeySpec: "SYMMETRIC_DEFAULT", KeyState: "Enabled", KeyUsage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS",
	}
}

func (s *Server) createKey(_ *http.Request, body []byte) (any, error) {
	var in struct {
		Description string
		KeySpec     string
		KeyUsage    string
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if (in.KeySpec != "" && in.KeySpec != "SYMMETRIC_DEFAULT") || (in.KeyUsage != "" && in.KeyUsage != "ENCRYPT_DECRYPT") {
		return nil, awsjson.Errorf("UnsupportedOperationException", "this local KMS makes SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys only")
	}
	id, err := s.CreateKey(in.Description, "")
	if err != nil {
		return nil, err
	}
	k, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"KeyMetadata": k.metadata()}, nil
}

func (s *Server) describeKey(_ *http.Request, body []byte) (any, error) {
	var in struct{ KeyId string }
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	k, err := s.lookup(in.KeyId)
	if err != nil {
		return nil, err
	}
	return map[string]any{"KeyMetadata": k.metadata()}, nil
}

func (s *Server) createAlias(_ *http.Request, body []byte) (any, error) {
	var in struct{ AliasName, TargetKeyId string }
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := validAlias(in.AliasName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.Contains(in.TargetKeyId, "alias/") {
		return nil, awsjson.Errorf("ValidationException", "TargetKeyId must be a key id or key ARN")
	}
	k, err := s.resolve(in.TargetKeyId)
	if err != nil {
		return nil, err
	}
	if _, dup := s.aliases[in.AliasName]; dup {
		return nil, awsjson.Errorf("AlreadyExistsException", "An alias with the name %s already exists", aliasARN(in.AliasName))
	}
	s.aliases[in.AliasName] = k.id
	return nil, nil
}

func (s *Server) listAliases(_ *http.Request, body []byte) (any, error) {
	var in struct{ KeyId string }
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	want := ""
	if in.KeyId != "" {
		k, err := s.resolve(in.KeyId)
		if err != nil {
			return nil, err
		}
		want = k.id
	}
	type alias struct{ AliasName, AliasArn, TargetKeyId string }
	out := []alias{}
	for name, id := range s.aliases {
		if want == "" || id == want {
			out = append(out, alias{AliasName: name, AliasArn: aliasARN(name), TargetKeyId: id})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AliasName < out[j].AliasName })
	return map[string]any{"Aliases": out, "Truncated": false}, nil
}

// Ciphertext blob: format byte, 36-byte key id, GCM nonce, sealed plaintext.
const blobFormat = 1

// contextAAD encodes an encryption context canonically: sorted keys, each
// key and value length-prefixed.
func contextAAD(ec map[string]string) []byte {
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []byte
	for _, k := range keys {
		out = binary.BigEndian.AppendUint32(out, uint32(len(k)))
		out = append(out, k...)
		out = binary.BigEndian.AppendUint32(out, uint32(len(ec[k])))
		out = append(out, ec[k]...)
	}
	return out
}

func (k *key) seal(plain []byte, ec map[string]string) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{blobFormat}, k.id...)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plain, contextAAD(ec)), nil
}

func checkAlgorithm(alg string) error {
	if alg != "" && alg != "SYMMETRIC_DEFAULT" {
		return awsjson.Errorf("ValidationException", "EncryptionAlgorithm must be SYMMETRIC_DEFAULT for a symmetric key")
	}
	return nil
}

func (s *Server) encrypt(_ *http.Request, body []byte) (any, error) {
	var in struct {
		KeyId               string
		Plaintext           []byte
		EncryptionContext   map[string]string
		EncryptionAlgorithm string
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	defer clear(in.Plaintext)
	if err := checkAlgorithm(in.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	if len(in.Plaintext) == 0 || len(in.Plaintext) > MaxPlaintext {
		return nil, awsjson.Errorf("ValidationException", "Plaintext must be 1 to %d bytes", MaxPlaintext)
	}
	k, err := s.lookup(in.KeyId)
	if err != nil {
		return nil, err
	}
	blob, err := k.seal(in.Plaintext, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return map[string]any{"CiphertextBlob": blob, "KeyId": keyARN(k.id), "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

func (s *Server) decrypt(_ *http.Request, body []byte) (any, error) {
	var in struct {
		CiphertextBlob      []byte
		EncryptionContext   map[string]string
		KeyId               string
		EncryptionAlgorithm string
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkAlgorithm(in.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	const idLen = 36
	if len(in.CiphertextBlob) < 1+idLen || in.CiphertextBlob[0] != blobFormat {
		return nil, awsjson.Errorf("InvalidCiphertextException", "")
	}
	s.mu.Lock()
	k, ok := s.keys[string(in.CiphertextBlob[1:1+idLen])]
	var named *key
	var err error
	if in.KeyId != "" {
		named, err = s.resolve(in.KeyId)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, awsjson.Errorf("InvalidCiphertextException", "")
	}
	if named != nil && named != k {
		return nil, awsjson.Errorf("IncorrectKeyException", "The key ID in the request does not identify a KMS key that can perform this operation.")
	}
	rest := in.CiphertextBlob[1+idLen:]
	ns := k.aead.NonceSize()
	if len(rest) < ns {
		return nil, awsjson.Errorf("InvalidCiphertextException", "")
	}
	plain, err := k.aead.Open(nil, rest[:ns], rest[ns:], contextAAD(in.EncryptionContext))
	if err != nil {
		// AWS says nothing more either: a wrong context and a damaged blob
		// look the same.
		return nil, awsjson.Errorf("InvalidCiphertextException", "")
	}
	return map[string]any{"Plaintext": plain, "KeyId": keyARN(k.id), "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

func (s *Server) generateDataKey(_ *http.Request, body []byte) (any, error) {
	var in struct {
		KeyId             string
		KeySpec           string
		NumberOfBytes     *int
		EncryptionContext map[string]string
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	n := 0
	switch {
	case in.KeySpec != "" && in.NumberOfBytes != nil:
		return nil, awsjson.Errorf("ValidationException", "specify either KeySpec or NumberOfBytes, not both")
	case in.KeySpec == "AES_256":
		n = 32
	case in.KeySpec == "AES_128":
		n = 16
	case in.KeySpec != "":
		return nil, awsjson.Errorf("ValidationException", "KeySpec must be AES_256 or AES_128")
	case in.NumberOfBytes != nil && *in.NumberOfBytes >= 1 && *in.NumberOfBytes <= 1024:
		n = *in.NumberOfBytes
	default:
		return nil, awsjson.Errorf("ValidationException", "specify KeySpec, or NumberOfBytes from 1 to 1024")
	}
	k, err := s.lookup(in.KeyId)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, n)
	if _, err := rand.Read(plain); err != nil {
		return nil, errors.New("random source failed")
	}
	blob, err := k.seal(plain, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return map[string]any{"CiphertextBlob": blob, "Plaintext": plain, "KeyId": keyARN(k.id)}, nil
}
