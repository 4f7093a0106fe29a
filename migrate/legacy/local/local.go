// Package local reads the secrets of ZenML's local secrets manager: one YAML
// file mapping each secret name to its keys, whose values are base64 of
// UTF-8, plus zenml_schema_name in plain text. The flavor has no scopes.
//
// Source URL: zenml-local:///ABSOLUTE/PATH/secrets.yaml (no parameters).
package local

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
)

func init() {
	legacy.Register(legacy.Flavor{Name: "local", Open: open, URLFromConfig: urlFromConfig})
}

func open(_ context.Context, u *url.URL, d legacy.Descriptor) (legacy.Source, error) {
	if err := openurl.CheckParams(u, "scope"); err != nil {
		return nil, err
	}
	if u.Host != "" || u.Path == "" {
		return nil, errcode.New(errcode.InvalidArgument, "zenml-local URL must be zenml-local:///ABSOLUTE/PATH/secrets.yaml")
	}
	d.Location = u.EscapedPath() // escaped, so a "#" in the path cannot be read as the origin's fragment
	return &Source{path: u.Path, desc: d}, nil
}

// urlFromConfig uses secrets_file, or ZenML's default
// <local_stores_path>/<component-uuid>/secrets.yaml.
func urlFromConfig(cfg map[string]any, componentID string) (string, error) {
	path, _ := cfg["secrets_file"].(string)
	if path == "" {
		id, err := uuid.Parse(componentID)
		if err != nil {
			return "", errcode.New(errcode.InvalidArgument, "local secrets manager without secrets_file needs the component id to find its file")
		}
		path = filepath.Join(localStoresPath(), id.String(), "secrets.yaml")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", errcode.Wrap(errcode.InvalidArgument, err, "bad secrets_file path")
	}
	return (&url.URL{Scheme: "zenml-local", Path: abs}).String(), nil
}

// localStoresPath follows ZenML: $ZENML_LOCAL_STORES_PATH, else
// <global config dir>/local_stores with the config dir $ZENML_CONFIG_PATH
// or click's app dir ($XDG_CONFIG_HOME/zenml, ~/.config/zenml on Linux).
func localStoresPath() string {
	if p := os.Getenv("ZENML_LOCAL_STORES_PATH"); p != "" {
		return p
	}
	dir := os.Getenv("ZENML_CONFIG_PATH")
	if dir == "" {
		base := os.Getenv("XDG_CONFIG_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".config")
		}
		dir = filepath.Join(base, "zenml")
	}
	return filepath.Join(dir, "local_stores")
}

// Source is a local secrets file. It is safe for concurrent use within one
// process; Delete rewrites the file atomically.
type Source struct {
	path string
	desc legacy.Descriptor

	mu sync.Mutex
	// The parsed file, reused while the file's size and modification time
	// stay the same, so that reading N entries parses the file once, not N
	// times.
	doc, root *yaml.Node
	stamp     fileStamp
}

type fileStamp struct {
	size int64
	mod  time.Time
}

// Describe implements legacy.Source.
func (s *Source) Describe() legacy.Descriptor { return s.desc }

// Close implements legacy.Source.
func (s *Source) Close() error { return nil }

// load returns the parsed file: its document node and top-level mapping.
// The caller holds s.mu; the nodes are shared and must not be changed.
func (s *Source) load() (*yaml.Node, *yaml.Node, error) {
	if info, err := os.Stat(s.path); err == nil && s.doc != nil && (fileStamp{info.Size(), info.ModTime()}) == s.stamp {
		return s.doc, s.root, nil
	}
	doc, root, err := s.parse()
	if err != nil {
		return nil, nil, err
	}
	if info, err := os.Stat(s.path); err == nil {
		s.doc, s.root, s.stamp = doc, root, fileStamp{info.Size(), info.ModTime()}
	}
	return doc, root, nil
}

func (s *Source) forget() { s.doc, s.root = nil, nil }

// parse reads and parses the file.
func (s *Source) parse() (*yaml.Node, *yaml.Node, error) {
	b, err := os.ReadFile(s.path)
	if os.IsNotExist(err) {
		return nil, nil, errcode.New(errcode.NotFound, "local secrets file %s does not exist", s.path)
	}
	if err != nil {
		return nil, nil, errcode.Wrap(errcode.Unavailable, err, "read local secrets file %s", s.path)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, nil, errcode.New(errcode.InvalidArgument, "local secrets file %s is not YAML", s.path)
	}
	if len(doc.Content) == 0 { // empty file
		return &doc, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, nil, errcode.New(errcode.InvalidArgument, "local secrets file %s is not a mapping of secret names", s.path)
	}
	return &doc, root, nil
}

// List implements legacy.Source.
func (s *Source) List(ctx context.Context) ([]legacy.Item, error) {
	s.mu.Lock()
	_, root, err := s.load()
	s.mu.Unlock()
	if errcode.Is(err, errcode.NotFound) {
		return nil, nil // ZenML treats a missing file as an empty manager
	}
	if err != nil {
		return nil, err
	}
	var items []legacy.Item
	for i := 0; i+1 < len(root.Content); i += 2 {
		name := root.Content[i].Value
		item := legacy.Item{Name: name, Location: s.path + "#" + name}
		schema, values, err := decodeEntry(root.Content[i+1])
		switch {
		case errcode.Is(err, errcode.FailedPrecondition):
			item.Status, item.Reason = legacy.Skipped, legacy.NotZenMLReason
		case err != nil:
			item.Status, item.Reason = legacy.Skipped, errcode.Message(err)
		default:
			item.Status, item.Schema, item.Keys = legacy.Migratable, schema, legacy.SortedKeys(values)
		}
		items = append(items, item)
	}
	legacy.SortItems(items)
	return items, nil
}

// Read implements legacy.Source.
func (s *Source) Read(ctx context.Context, name string) (*legacy.Entry, error) {
	s.mu.Lock()
	_, root, err := s.load()
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	i := find(root, name)
	if i < 0 {
		return nil, errcode.New(errcode.NotFound, "no secret %q in local secrets file", name)
	}
	schema, values, err := decodeEntry(root.Content[i+1])
	if err != nil {
		return nil, err
	}
	return &legacy.Entry{Name: name, Schema: schema, Values: values}, nil
}

// Delete implements legacy.Source.
func (s *Source) Delete(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc, root, err := s.parse() // a private copy: cached nodes are never changed, readers may hold them
	if err != nil {
		return err
	}
	i := find(root, name)
	if i < 0 {
		return errcode.New(errcode.NotFound, "no secret %q in local secrets file", name)
	}
	s.forget()
	root.Content = append(root.Content[:i], root.Content[i+2:]...)
	var buf bytes.Buffer
	if len(root.Content) == 0 {
		buf.WriteString("{}\n")
	} else {
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return errcode.Wrap(errcode.Internal, err, "encode local secrets file")
		}
	}
	return writeAtomic(s.path, buf.Bytes())
}

func writeAtomic(path string, b []byte) error {
	info, err := os.Stat(path)
	if err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "stat local secrets file")
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secrets-*.yaml")
	if err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "write local secrets file")
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), info.Mode().Perm())
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "write local secrets file")
	}
	return nil
}

func find(root *yaml.Node, name string) int {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == name {
			return i
		}
	}
	return -1
}

// decodeEntry returns the schema and decoded values of one secret's
// mapping. Errors: failed_precondition when it has no zenml_schema_name;
// invalid_argument when a value is not base64 (naming the key).
func decodeEntry(n *yaml.Node) (string, map[string]string, error) {
	if n.Kind != yaml.MappingNode {
		return "", nil, errcode.New(errcode.FailedPrecondition, legacy.NotZenMLReason)
	}
	schema := ""
	hasSchema := false
	values := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		if k == legacy.SchemaKey {
			schema, hasSchema = v.Value, true
			continue
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			continue // ZenML never writes None; nothing to migrate
		}
		dec, err := base64.StdEncoding.DecodeString(v.Value)
		if err != nil {
			return "", nil, errcode.New(errcode.InvalidArgument, "value of key %q is not base64 as the local flavor writes it", k)
		}
		values[k] = string(dec)
	}
	if !hasSchema {
		return "", nil, errcode.New(errcode.FailedPrecondition, legacy.NotZenMLReason)
	}
	return schema, values, nil
}
