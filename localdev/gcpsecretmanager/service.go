package gcpsecretmanager

import (
	"context"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	pb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var (
	parentPattern   = regexp.MustCompile(`^projects/[^/]+(/locations/[^/]+)?$`)
	secretIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	castagnoli      = crc32.MakeTable(crc32.Castagnoli)
)

const maxPageSize = 25000

type version struct {
	meta *pb.SecretVersion
	data []byte // nil once destroyed
}

type secretEntry struct {
	secret   *pb.Secret
	versions []*version // versions[i] is version number i+1
}

// service holds the secrets of every project. All state is behind mu.
type service struct {
	pb.UnimplementedSecretManagerServiceServer

	mu      sync.Mutex
	secrets map[string]*secretEntry // by full resource name
	etags   int64
}

func newService() *service { return &service{secrets: map[string]*secretEntry{}} }

func (s *service) nextEtag() string {
	s.etags++
	return fmt.Sprintf("%q", strconv.FormatInt(time.Now().UnixNano()+s.etags, 16))
}

func checkParent(parent string) error {
	if !parentPattern.MatchString(parent) {
		return status.Errorf(codes.InvalidArgument, "parent %q must look like projects/PROJECT or projects/PROJECT/locations/LOCATION", parent)
	}
	return nil
}

// secretLocked returns the entry the secret name names.
func (s *service) secretLocked(name string) (*secretEntry, error) {
	i := strings.LastIndex(name, "/secrets/")
	if i < 0 || checkParent(name[:i]) != nil || !secretIDPattern.MatchString(name[i+len("/secrets/"):]) {
		return nil, status.Errorf(codes.InvalidArgument, "secret name %q must look like projects/PROJECT/secrets/SECRET", name)
	}
	e, ok := s.secrets[name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", name)
	}
	return e, nil
}

// versionLocked returns the entry and version that a version name names;
// "latest" is allowed only when allowLatest.
func (s *service) versionLocked(name string, allowLatest bool) (*secretEntry, *version, error) {
	i := strings.LastIndex(name, "/versions/")
	if i < 0 {
		return nil, nil, status.Errorf(codes.InvalidArgument, "version name %q must look like projects/PROJECT/secrets/SECRET/versions/VERSION", name)
	}
	e, err := s.secretLocked(name[:i])
	if err != nil {
		return nil, nil, err
	}
	id := name[i+len("/versions/"):]
	if id == "latest" && allowLatest {
		if len(e.versions) == 0 {
			return nil, nil, status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", name[:i])
		}
		return e, e.versions[len(e.versions)-1], nil
	}
	n, err := strconv.Atoi(id)
	if err != nil || n < 1 {
		if alias, ok := e.secret.VersionAliases[id]; ok {
			n = int(alias)
		} else {
			return nil, nil, status.Errorf(codes.InvalidArgument, "version %q must be a positive number or an alias", id)
		}
	}
	if n > len(e.versions) {
		return nil, nil, status.Errorf(codes.NotFound, "Secret Version [%s] not found.", name)
	}
	return e, e.versions[n-1], nil
}

func checkLabels(labels map[string]string) error {
	if len(labels) > 64 {
		return status.Errorf(codes.InvalidArgument, "a secret has at most 64 labels, got %d", len(labels))
	}
	for k, v := range labels {
		first, _ := utf8.DecodeRuneInString(k)
		if k == "" || !unicode.IsLower(first) || utf8.RuneCountInString(k) > 63 || !labelText(k) {
			return status.Errorf(codes.InvalidArgument, "label key %q must be 1-63 lowercase letters, digits, '_' or '-', starting with a lowercase letter", k)
		}
		if utf8.RuneCountInString(v) > 63 || !labelText(v) {
			return status.Errorf(codes.InvalidArgument, "label value of %q must be at most 63 lowercase letters, digits, '_' or '-'", k)
		}
	}
	return nil
}

func labelText(s string) bool {
	for _, r := range s {
		if !(unicode.IsLower(r) || unicode.Is(unicode.Lo, r) || unicode.IsDigit(r) || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

var annotationKeyPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$`)

func checkAnnotations(annotations map[string]string) error {
	total := 0
	for k, v := range annotations {
		if !annotationKeyPattern.MatchString(k) {
			return status.Errorf(codes.InvalidArgument, "annotation key %q must be 1-63 characters of [A-Za-z0-9._-], starting and ending with a letter or digit", k)
		}
		total += len(k) + len(v)
	}
	if total > 16*1024 {
		return status.Errorf(codes.InvalidArgument, "annotations total %d bytes; the limit is 16 KiB", total)
	}
	return nil
}

func checkReplication(r *pb.Replication) error {
	switch r.GetReplication().(type) {
	case *pb.Replication_Automatic_:
		return nil
	case *pb.Replication_UserManaged_:
		replicas := r.GetUserManaged().GetReplicas()
		if len(replicas) == 0 {
			return status.Errorf(codes.InvalidArgument, "user-managed replication needs at least one replica")
		}
		seen := map[string]bool{}
		for _, rep := range replicas {
			if rep.GetLocation() == "" || seen[rep.GetLocation()] {
				return status.Errorf(codes.InvalidArgument, "replica locations must be set and distinct")
			}
			seen[rep.GetLocation()] = true
		}
		return nil
	default:
		return status.Errorf(codes.InvalidArgument, "Secret.replication must be set")
	}
}

func checkEtag(given, current string) error {
	if given != "" && given != current {
		return status.Errorf(codes.FailedPrecondition, "etag %s does not match the current etag", given)
	}
	return nil
}

func (s *service) CreateSecret(_ context.Context, req *pb.CreateSecretRequest) (*pb.Secret, error) {
	if err := checkParent(req.GetParent()); err != nil {
		return nil, err
	}
	if !secretIDPattern.MatchString(req.GetSecretId()) {
		return nil, status.Errorf(codes.InvalidArgument, "secret id %q must be 1-255 characters of [A-Za-z0-9_-]", req.GetSecretId())
	}
	in := req.GetSecret()
	if err := checkReplication(in.GetReplication()); err != nil {
		return nil, err
	}
	if err := checkLabels(in.GetLabels()); err != nil {
		return nil, err
	}
	if err := checkAnnotations(in.GetAnnotations()); err != nil {
		return nil, err
	}
	name := req.GetParent() + "/secrets/" + req.GetSecretId()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.secrets[name]; exists {
		return nil, status.Errorf(codes.AlreadyExists, "Secret [%s] already exists.", name)
	}
	secret := &pb.Secret{
		Name:        name,
		Replication: proto.Clone(in.GetReplication()).(*pb.Replication),
		CreateTime:  timestamppb.Now(),
		Labels:      copyMap(in.GetLabels()),
		Annotations: copyMap(in.GetAnnotations()),
		Etag:        s.nextEtag(),
	}
	s.secrets[name] = &secretEntry{secret: secret}
	return proto.Clone(secret).(*pb.Secret), nil
}

func (s *service) GetSecret(_ context.Context, req *pb.GetSecretRequest) (*pb.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.secretLocked(req.GetName())
	if err != nil {
		return nil, err
	}
	return proto.Clone(e.secret).(*pb.Secret), nil
}

func (s *service) UpdateSecret(_ context.Context, req *pb.UpdateSecretRequest) (*pb.Secret, error) {
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, status.Errorf(codes.InvalidArgument, "update_mask must name the fields to update")
	}
	in := req.GetSecret()
	for _, p := range paths {
		switch p {
		case "labels":
			if err := checkLabels(in.GetLabels()); err != nil {
				return nil, err
			}
		case "annotations":
			if err := checkAnnotations(in.GetAnnotations()); err != nil {
				return nil, err
			}
		case "version_aliases":
		default:
			return nil, status.Errorf(codes.InvalidArgument, "update_mask path %q is not supported by the local Secret Manager", p)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.secretLocked(in.GetName())
	if err != nil {
		return nil, err
	}
	if err := checkEtag(in.GetEtag(), e.secret.Etag); err != nil {
		return nil, err
	}
	for _, p := range paths {
		switch p {
		case "labels":
			e.secret.Labels = copyMap(in.GetLabels())
		case "annotations":
			e.secret.Annotations = copyMap(in.GetAnnotations())
		case "version_aliases":
			for alias, n := range in.GetVersionAliases() {
				if n < 1 || int(n) > len(e.versions) {
					return nil, status.Errorf(codes.InvalidArgument, "alias %q points at version %d, which does not exist", alias, n)
				}
			}
			e.secret.VersionAliases = map[string]int64{}
			for alias, n := range in.GetVersionAliases() {
				e.secret.VersionAliases[alias] = n
			}
		}
	}
	e.secret.Etag = s.nextEtag()
	return proto.Clone(e.secret).(*pb.Secret), nil
}

func (s *service) DeleteSecret(_ context.Context, req *pb.DeleteSecretRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.secretLocked(req.GetName())
	if err != nil {
		return nil, err
	}
	if err := checkEtag(req.GetEtag(), e.secret.Etag); err != nil {
		return nil, err
	}
	delete(s.secrets, req.GetName())
	return &emptypb.Empty{}, nil
}

func (s *service) ListSecrets(_ context.Context, req *pb.ListSecretsRequest) (*pb.ListSecretsResponse, error) {
	if err := checkParent(req.GetParent()); err != nil {
		return nil, err
	}
	match, err := parseFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	size, after, err := paging(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for name, e := range s.secrets {
		if strings.HasPrefix(name, req.GetParent()+"/secrets/") && match(e.secret) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	resp := &pb.ListSecretsResponse{TotalSize: int32(len(names))}
	start := sort.SearchStrings(names, after)
	if after != "" && start < len(names) && names[start] == after {
		start++
	}
	for _, name := range names[start:] {
		if len(resp.Secrets) == size {
			resp.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(resp.Secrets[len(resp.Secrets)-1].Name))
			break
		}
		resp.Secrets = append(resp.Secrets, proto.Clone(s.secrets[name].secret).(*pb.Secret))
	}
	return resp, nil
}

// paging decodes a page size (0 means all, as many as maxPageSize) and a
// page token (the base64 of the last name or number returned).
func paging(pageSize int32, token string) (int, string, error) {
	if pageSize < 0 || pageSize > maxPageSize {
		return 0, "", status.Errorf(codes.InvalidArgument, "page_size must be between 0 and %d", maxPageSize)
	}
	if pageSize == 0 {
		pageSize = maxPageSize
	}
	after, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, "", status.Errorf(codes.InvalidArgument, "page_token is not a token this service returned")
	}
	return int(pageSize), string(after), nil
}

func (s *service) AddSecretVersion(_ context.Context, req *pb.AddSecretVersionRequest) (*pb.SecretVersion, error) {
	payload := req.GetPayload()
	if payload == nil {
		return nil, status.Errorf(codes.InvalidArgument, "payload must be set")
	}
	if len(payload.GetData()) > MaxPayload {
		return nil, status.Errorf(codes.InvalidArgument, "Secret Payload cannot be larger than 64KiB.")
	}
	if payload.DataCrc32C != nil && uint32(payload.GetDataCrc32C()) != crc32.Checksum(payload.GetData(), castagnoli) {
		return nil, status.Errorf(codes.InvalidArgument, "Checksum mismatch: the payload's data_crc32c does not match its data")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.secretLocked(req.GetParent())
	if err != nil {
		return nil, err
	}
	v := &version{
		meta: &pb.SecretVersion{
			Name:                           fmt.Sprintf("%s/versions/%d", req.GetParent(), len(e.versions)+1),
			CreateTime:                     timestamppb.Now(),
			State:                          pb.SecretVersion_ENABLED,
			Etag:                           s.nextEtag(),
			ClientSpecifiedPayloadChecksum: payload.DataCrc32C != nil,
		},
		data: append([]byte{}, payload.GetData()...),
	}
	e.versions = append(e.versions, v)
	return proto.Clone(v.meta).(*pb.SecretVersion), nil
}

func (s *service) AccessSecretVersion(_ context.Context, req *pb.AccessSecretVersionRequest) (*pb.AccessSecretVersionResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, v, err := s.versionLocked(req.GetName(), true)
	if err != nil {
		return nil, err
	}
	if v.meta.State != pb.SecretVersion_ENABLED {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in %s state.", v.meta.Name, v.meta.State)
	}
	crc := int64(crc32.Checksum(v.data, castagnoli))
	return &pb.AccessSecretVersionResponse{
		Name:    v.meta.Name,
		Payload: &pb.SecretPayload{Data: append([]byte{}, v.data...), DataCrc32C: &crc},
	}, nil
}

func (s *service) GetSecretVersion(_ context.Context, req *pb.GetSecretVersionRequest) (*pb.SecretVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, v, err := s.versionLocked(req.GetName(), true)
	if err != nil {
		return nil, err
	}
	return proto.Clone(v.meta).(*pb.SecretVersion), nil
}

func (s *service) ListSecretVersions(_ context.Context, req *pb.ListSecretVersionsRequest) (*pb.ListSecretVersionsResponse, error) {
	var want pb.SecretVersion_State
	if f := strings.TrimSpace(req.GetFilter()); f != "" {
		v, ok := strings.CutPrefix(strings.ReplaceAll(f, "=", ":"), "state:")
		state, known := pb.SecretVersion_State_value[strings.Trim(v, `"`)]
		if !ok || !known {
			return nil, status.Errorf(codes.InvalidArgument, "the local Secret Manager filters versions only by state:STATE")
		}
		want = pb.SecretVersion_State(state)
	}
	size, after, err := paging(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.secretLocked(req.GetParent())
	if err != nil {
		return nil, err
	}
	next := len(e.versions) // newest first: the next number to return
	if after != "" {
		n, err := strconv.Atoi(after)
		if err != nil || n < 1 || n > len(e.versions)+1 {
			return nil, status.Errorf(codes.InvalidArgument, "page_token is not a token this service returned")
		}
		next = n - 1
	}
	resp := &pb.ListSecretVersionsResponse{}
	for n := len(e.versions); n >= 1; n-- {
		v := e.versions[n-1]
		if want != pb.SecretVersion_STATE_UNSPECIFIED && v.meta.State != want {
			continue
		}
		resp.TotalSize++
		if n > next {
			continue
		}
		if len(resp.Versions) == size {
			if resp.NextPageToken == "" {
				last := resp.Versions[len(resp.Versions)-1].Name
				resp.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(last[strings.LastIndex(last, "/")+1:]))
			}
			continue
		}
		resp.Versions = append(resp.Versions, proto.Clone(v.meta).(*pb.SecretVersion))
	}
	return resp, nil
}

// changeVersion applies a state change to the version that name names.
func (s *service) changeVersion(name, etag string, change func(v *version) error) (*pb.SecretVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, v, err := s.versionLocked(name, false)
	if err != nil {
		return nil, err
	}
	if err := checkEtag(etag, v.meta.Etag); err != nil {
		return nil, err
	}
	if v.meta.State == pb.SecretVersion_DESTROYED {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in DESTROYED state.", v.meta.Name)
	}
	if err := change(v); err != nil {
		return nil, err
	}
	v.meta.Etag = s.nextEtag()
	return proto.Clone(v.meta).(*pb.SecretVersion), nil
}

func (s *service) DisableSecretVersion(_ context.Context, req *pb.DisableSecretVersionRequest) (*pb.SecretVersion, error) {
	return s.changeVersion(req.GetName(), req.GetEtag(), func(v *version) error {
		v.meta.State = pb.SecretVersion_DISABLED
		return nil
	})
}

func (s *service) EnableSecretVersion(_ context.Context, req *pb.EnableSecretVersionRequest) (*pb.SecretVersion, error) {
	return s.changeVersion(req.GetName(), req.GetEtag(), func(v *version) error {
		v.meta.State = pb.SecretVersion_ENABLED
		return nil
	})
}

func (s *service) DestroySecretVersion(_ context.Context, req *pb.DestroySecretVersionRequest) (*pb.SecretVersion, error) {
	return s.changeVersion(req.GetName(), req.GetEtag(), func(v *version) error {
		v.meta.State = pb.SecretVersion_DESTROYED
		v.meta.DestroyTime = timestamppb.Now()
		v.data = nil
		return nil
	})
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
