// Package gcpsm reads ZenML's GCP Secret Manager secrets manager (flavor
// gcp) in both of its storage modes (reference §3.2):
//
//   - scope none, the legacy per-key mapping: one GCP secret per key, id
//     "<name>_<key>", labels zenml-group-key=<name> and
//     zenml-schema-name=<schema> (dashes), payload the raw value;
//   - scoped: one GCP secret per ZenML secret, id zenml-global-S,
//     zenml-component-UUID-S or zenml-namespace-NS-S, labels zenml_scope,
//     zenml_secret_name, ... (underscores), payload the JSON payload.
//
// Names are always taken from labels, never split on "-".
//
// Source URL: zenml-gcp://PROJECT[?scope=...&component_uuid=...&namespace=...].
// Credentials come from Application Default Credentials. For a local server
// (localdev/gcpsecretmanager) set LOCKWELL_GCP_SECRETMANAGER_ENDPOINT to its
// loopback host:port, as for the GCP value store; it connects in plaintext
// without credentials and refuses non-loopback hosts.
package gcpsm

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	pb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
	"github.com/lockwell/lockwell/shared/retry"
)

// EndpointEnv points the reader at a local server (loopback host:port).
const EndpointEnv = "LOCKWELL_GCP_SECRETMANAGER_ENDPOINT"

// The labels of the legacy per-key mode.
const (
	groupLabel  = "zenml-group-key"
	schemaLabel = "zenml-schema-name"
)

func init() {
	legacy.Register(legacy.Flavor{Name: "gcp", Scoped: true, Open: open, URLFromConfig: urlFromConfig})
}

func open(ctx context.Context, u *url.URL, d legacy.Descriptor) (legacy.Source, error) {
	if err := openurl.CheckParams(u, legacy.ScopeParams...); err != nil {
		return nil, err
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, errcode.New(errcode.InvalidArgument, "zenml-gcp URL must be zenml-gcp://PROJECT_ID")
	}
	var opts []option.ClientOption
	if endpoint := os.Getenv(EndpointEnv); endpoint != "" {
		host, _, err := net.SplitHostPort(endpoint)
		ip := net.ParseIP(host)
		if err != nil || !(host == "localhost" || ip != nil && ip.IsLoopback()) {
			return nil, errcode.New(errcode.InvalidArgument, "%s must be a loopback host:port (it connects without TLS)", EndpointEnv)
		}
		opts = append(opts, option.WithEndpoint(endpoint), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	client, err := secretmanager.NewClient(ctx, opts...)
	if err != nil {
		return nil, errcode.New(errcode.Unavailable, "cannot create the GCP Secret Manager client")
	}
	client.CallOptions = &secretmanager.CallOptions{} // one retry policy: package retry
	d.Location = u.Host
	return &Source{client: client, project: u.Host, desc: d}, nil
}

func urlFromConfig(cfg map[string]any, _ string) (string, error) {
	project, err := legacy.ConfigString(cfg, "gcp", "project_id")
	if err != nil {
		return "", err
	}
	return "zenml-gcp://" + project, nil
}

// Source reads one project and scope. Safe for concurrent use.
type Source struct {
	client  *secretmanager.Client
	project string
	desc    legacy.Descriptor
}

// Describe implements legacy.Source.
func (s *Source) Describe() legacy.Descriptor { return s.desc }

// Close implements legacy.Source.
func (s *Source) Close() error { return s.client.Close() }

func (s *Source) parent() string { return "projects/" + s.project }

func secretID(resource string) string { return resource[strings.LastIndex(resource, "/")+1:] }

// list calls fn with every secret that matches filter ("" for all).
func (s *Source) list(ctx context.Context, filter string, fn func(*pb.Secret)) error {
	return retry.Do(ctx, retry.Default, func(ctx context.Context) error {
		var batch []*pb.Secret
		it := s.client.ListSecrets(ctx, &pb.ListSecretsRequest{Parent: s.parent(), Filter: filter, PageSize: 250})
		for {
			sec, err := it.Next()
			if errors.Is(err, iterator.Done) {
				break
			}
			if err != nil {
				return classify(err, "list secrets")
			}
			batch = append(batch, sec)
		}
		for _, sec := range batch {
			fn(sec)
		}
		return nil
	})
}

// List implements legacy.Source.
func (s *Source) List(ctx context.Context) ([]legacy.Item, error) {
	var items []legacy.Item
	groups := map[string]*legacy.Item{}
	err := s.list(ctx, "", func(sec *pb.Secret) {
		labels := sec.GetLabels()
		id := secretID(sec.GetName())
		switch {
		case legacy.IsCentralized(labels): // zenml-<uuid>, listed in every scope
			items = append(items, legacy.CentralizedItem(id, labels))
		case s.desc.Scope == legacy.ScopeNone:
			group, ok := labels[groupLabel]
			if !ok {
				return
			}
			it := groups[group]
			if it == nil {
				it = &legacy.Item{Name: group, Status: legacy.Migratable, Keys: []string{}}
				groups[group] = it
			}
			it.Schema = labels[schemaLabel]
			it.AddLocation(id)
			key, ok := strings.CutPrefix(id, group+"_")
			if !ok || key == "" {
				it.Status, it.Reason = legacy.Skipped, "per-key secret "+id+" is not named "+group+"_KEY"
				return
			}
			it.Keys = append(it.Keys, key)
		default:
			name := labels["zenml_secret_name"]
			if name == "" || !s.desc.MatchesScope(labels) || id != s.desc.FullName(name, "-") {
				return
			}
			items = append(items, legacy.Item{Name: name, Location: id, Schema: labels["zenml_secret_schema"], Status: legacy.Migratable})
		}
	})
	if err != nil {
		return nil, err
	}
	for _, it := range groups {
		sort.Strings(it.Keys)
		items = append(items, *it)
	}
	return legacy.CompleteItems(ctx, s, items)
}

// groupMembers returns the per-key secrets of group name.
func (s *Source) groupMembers(ctx context.Context, name string) ([]*pb.Secret, error) {
	var members []*pb.Secret
	err := s.list(ctx, "labels."+groupLabel+"="+name, func(sec *pb.Secret) {
		if sec.GetLabels()[groupLabel] == name { // the filter is the server's; check again
			members = append(members, sec)
		}
	})
	return members, err
}

func (s *Source) access(ctx context.Context, resource string) ([]byte, error) {
	var data []byte
	err := retry.Do(ctx, retry.Default, func(ctx context.Context) error {
		resp, err := s.client.AccessSecretVersion(ctx, &pb.AccessSecretVersionRequest{Name: resource + "/versions/latest"})
		if err != nil {
			return classify(err, "read secret")
		}
		data = resp.GetPayload().GetData()
		return nil
	})
	return data, err
}

// Read implements legacy.Source.
func (s *Source) Read(ctx context.Context, name string) (*legacy.Entry, error) {
	if id, ok := legacy.CentralizedRef(name); ok {
		return s.readCentralized(ctx, id)
	}
	if s.desc.Scope == legacy.ScopeNone {
		return s.readGroup(ctx, name)
	}
	resource := s.parent() + "/secrets/" + s.desc.FullName(name, "-")
	var sec *pb.Secret
	err := retry.Do(ctx, retry.Default, func(ctx context.Context) (err error) {
		sec, err = s.client.GetSecret(ctx, &pb.GetSecretRequest{Name: resource})
		return classify(err, "read secret")
	})
	if err != nil {
		return nil, err
	}
	if labels := sec.GetLabels(); !s.desc.MatchesScope(labels) || labels["zenml_secret_name"] != name {
		return nil, errcode.New(errcode.NotFound, "no secret %q in this scope", name) // as ZenML: labels must match
	}
	data, err := s.access(ctx, resource)
	if err != nil {
		return nil, err
	}
	schema, values, ok := legacy.DecodeJSON(data)
	if !ok {
		return nil, errcode.New(errcode.FailedPrecondition, legacy.NotZenMLReason)
	}
	return &legacy.Entry{Name: name, Schema: schema, Values: values}, nil
}

// readCentralized reads the centralized-store secret zenml-<id>: its
// labels and its latest version, as ZenML's GCP secrets store did.
func (s *Source) readCentralized(ctx context.Context, id string) (*legacy.Entry, error) {
	resource := s.parent() + "/secrets/zenml-" + id
	var sec *pb.Secret
	err := retry.Do(ctx, retry.Default, func(ctx context.Context) (err error) {
		sec, err = s.client.GetSecret(ctx, &pb.GetSecretRequest{Name: resource})
		return classify(err, "read secret")
	})
	if err != nil {
		return nil, err
	}
	if _, err := legacy.DecodeCentralized(id, sec.GetLabels(), []byte("{}")); err != nil {
		return nil, err // not this entry, or values only: before reading any value
	}
	data, err := s.access(ctx, resource)
	if err != nil {
		return nil, err
	}
	return legacy.DecodeCentralized(id, sec.GetLabels(), data)
}

func (s *Source) readGroup(ctx context.Context, name string) (*legacy.Entry, error) {
	members, err := s.groupMembers(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(members) == 0 {
		return nil, errcode.New(errcode.NotFound, "no secret %q in this scope", name)
	}
	e := &legacy.Entry{Name: name, Values: map[string]string{}}
	for _, m := range members {
		id := secretID(m.GetName())
		key, ok := strings.CutPrefix(id, name+"_")
		if !ok || key == "" {
			return nil, errcode.New(errcode.FailedPrecondition, "per-key secret %s is not named %s_KEY", id, name)
		}
		data, err := s.access(ctx, m.GetName())
		if err != nil {
			return nil, err
		}
		e.Values[key] = string(data)
		e.Schema = m.GetLabels()[schemaLabel]
	}
	return e, nil
}

// Delete implements legacy.Source: the whole GCP secret, or every per-key
// secret of the group.
func (s *Source) Delete(ctx context.Context, name string) error {
	if _, ok := legacy.CentralizedRef(name); ok {
		return errcode.New(errcode.FailedPrecondition, "entries of ZenML's centralized store are not deleted by the migration")
	}
	var resources []string
	if s.desc.Scope == legacy.ScopeNone {
		members, err := s.groupMembers(ctx, name)
		if err != nil {
			return err
		}
		for _, m := range members {
			resources = append(resources, m.GetName())
		}
		if len(resources) == 0 {
			return errcode.New(errcode.NotFound, "no secret %q in this scope", name)
		}
	} else {
		resources = []string{s.parent() + "/secrets/" + s.desc.FullName(name, "-")}
	}
	for _, r := range resources {
		err := retry.Do(ctx, retry.Default, func(ctx context.Context) error {
			return classify(s.client.DeleteSecret(ctx, &pb.DeleteSecretRequest{Name: r}), "delete secret")
		})
		if err != nil && !(errcode.Is(err, errcode.NotFound) && len(resources) > 1) {
			return err
		}
	}
	return nil
}

var codeMap = map[codes.Code]errcode.Code{
	codes.NotFound:           errcode.NotFound,
	codes.InvalidArgument:    errcode.InvalidArgument,
	codes.FailedPrecondition: errcode.NotFound, // latest version disabled or destroyed: nothing to read
	codes.PermissionDenied:   errcode.PermissionDenied,
	codes.Unauthenticated:    errcode.Unauthenticated,
	codes.ResourceExhausted:  errcode.Unavailable,
	codes.Unavailable:        errcode.Unavailable,
	codes.DeadlineExceeded:   errcode.Unavailable,
	codes.Aborted:            errcode.Unavailable,
	codes.Internal:           errcode.Unavailable,
}

// classify maps a gRPC error by its code only; provider text is not copied.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return errcode.New(errcode.Unavailable, "GCP Secret Manager did not answer (%s)", what)
	}
	code, known := codeMap[st.Code()]
	if !known {
		code = errcode.Internal
	}
	return errcode.New(code, "GCP Secret Manager: %s (%s)", st.Code(), what)
}
