// Package gcpsecretmanager is a local GCP Secret Manager: an in-memory
// implementation of the real gRPC API (google.cloud.secretmanager.v1.
// SecretManagerService) that the official Go client
// (cloud.google.com/go/secretmanager/apiv1) talks to unchanged. Tests, the
// migration tests (which seed legacy ZenML entries through the same client)
// and `make dev` use it; there is no Google emulator for Secret Manager.
//
// Connect the official client with
//
//	secretmanager.NewClient(ctx,
//		option.WithEndpoint(srv.Addr()),
//		option.WithoutAuthentication(),
//		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
//
// What it checks, as the real service does: secret ids ([A-Za-z0-9_-],
// ≤255), label and annotation rules, required replication, the 64 KiB payload
// limit, data_crc32c when the client sends one, etags when given, and version
// states (accessing a disabled or destroyed version is FailedPrecondition).
// ListSecrets understands the filter forms `labels.KEY=VALUE`,
// `labels.KEY:VALUE`, `labels.KEY:*`, `name:TEXT` (substring of the secret
// id), `name=FULL_NAME`, joined by whitespace or AND. Other filters are
// InvalidArgument. Regional parents (projects/P/locations/L) are accepted and
// kept apart from global ones. IAM, rotation, topics, expiration and CMEK are
// not implemented. Nothing is persisted.
//
// The server binds to 127.0.0.1 only, never checks credentials, and never
// logs payloads. It is safe for concurrent use.
package gcpsecretmanager

import (
	"context"
	"net"
	"strings"
	"sync"

	pb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// MaxPayload is the largest secret version payload the service accepts, in
// bytes (64 KiB).
const MaxPayload = 64 * 1024

// Server is a running local Secret Manager. Its methods are safe for
// concurrent use.
type Server struct {
	listener net.Listener
	grpc     *grpc.Server
	service  *service

	mu     sync.Mutex
	faults map[string][]codes.Code // method name → codes to fail with, in order
	calls  map[string]int
}

// Start starts a server on a free port of 127.0.0.1.
func Start() (*Server, error) { return Listen("127.0.0.1:0") }

// Listen starts a server on addr, which must be a loopback address (for
// example "127.0.0.1:8085" for `make dev`).
func Listen(addr string) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, status.Errorf(codes.InvalidArgument, "local Secret Manager must listen on a loopback address, not %q", host)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{listener: l, service: newService(), faults: map[string][]codes.Code{}, calls: map[string]int{}}
	s.grpc = grpc.NewServer(grpc.UnaryInterceptor(s.intercept), grpc.MaxRecvMsgSize(4<<20))
	pb.RegisterSecretManagerServiceServer(s.grpc, s.service)
	go func() { _ = s.grpc.Serve(l) }()
	return s, nil
}

// Addr is the host:port the server listens on, for option.WithEndpoint.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Close stops the server at once.
func (s *Server) Close() { s.grpc.Stop() }

// FailNext makes the next n calls of method (for example "AddSecretVersion"
// or "AccessSecretVersion"; "*" for any method) fail with code before the
// method runs, as the service does when throttling (ResourceExhausted) or
// down (Unavailable). Calls queue after earlier injected faults.
func (s *Server) FailNext(method string, code codes.Code, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[method] = append(s.faults[method], code)
	}
}

// Calls reports how many times method was called, injected failures included.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	method := info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]
	s.mu.Lock()
	s.calls[method]++
	var fault codes.Code
	injected := false
	for _, key := range []string{method, "*"} {
		if q := s.faults[key]; len(q) > 0 {
			fault, injected = q[0], true
			s.faults[key] = q[1:]
			break
		}
	}
	s.mu.Unlock()
	if injected {
		return nil, status.Errorf(fault, "injected fault for %s", method)
	}
	return handler(ctx, req)
}
