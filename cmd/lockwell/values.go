package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/secretref"
)

// maxInputBytes bounds a file or standard input read for values: four
// times a secret's size limit, so that a too-large secret gets the limit's
// own error from validation.
const maxInputBytes = 4 * secret.MaxTotalSize

// readSource reads "@path" (a file) or "@-" (standard input).
func (a *app) readSource(ref string) ([]byte, string, error) {
	path := strings.TrimPrefix(ref, "@")
	var r io.Reader
	if path == "-" {
		r = a.stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, "", errcode.Wrap(errcode.InvalidArgument, err, "cannot read %s: %v", path, errTextOf(err))
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, "", errcode.Wrap(errcode.InvalidArgument, err, "cannot read %s: %v", path, errTextOf(err))
	}
	if len(data) > maxInputBytes {
		return nil, "", errcode.New(errcode.TooLarge, "%s is larger than %d bytes", path, maxInputBytes)
	}
	return data, path, nil
}

// errTextOf is an os error's text without its path (already named).
func errTextOf(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// parseValues reads a values document: JSON, then YAML, then a .env file
// (a file whose name says .env is read as one directly). It must be a flat
// mapping of keys to strings; YAML numbers and booleans keep their text.
// Errors name keys and lines, never values.
func parseValues(data []byte, name string) (map[string]string, error) {
	if secretref.FormatOf(name) == secretref.Dotenv && name != "-" {
		return parseDotenvValues(data)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return map[string]string{}, nil
	}
	if trimmed[0] == '{' {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &raw); err == nil {
			out := make(map[string]string, len(raw))
			for k, v := range raw {
				s, err := jsonString(v)
				if err != nil {
					return nil, errcode.New(errcode.InvalidArgument, "value of key %s is not a string", k)
				}
				out[k] = s
			}
			return out, nil
		}
	}
	var mapping *yaml.Node
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err == nil && len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
		mapping = doc.Content[0]
		if !hasInvalidKey(mapping) {
			return yamlValues(mapping)
		}
	}
	if vals, err := parseDotenvValues(data); err == nil {
		return vals, nil
	}
	if mapping != nil {
		return yamlValues(mapping) // not .env either: let the keys' validation say what is wrong
	}
	return nil, errcode.New(errcode.InvalidArgument, "values must be a JSON object, a YAML mapping or a .env file of keys to strings")
}

// jsonString decodes a JSON string. Unlike json.Unmarshal into a string it
// rejects null, which would otherwise silently become "".
func jsonString(raw json.RawMessage) (string, error) {
	var s string
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return "", errcode.New(errcode.InvalidArgument, "null is not a string")
	}
	err := json.Unmarshal(raw, &s)
	return s, err
}

// hasInvalidKey reports whether a YAML mapping has a key that is not a
// valid secret key. Such a mapping is not a values document but a .env file
// that YAML also accepts: the line K="a: b" is the YAML mapping
// {"K=\"a": "b\""}, and .env keys never contain "=" while YAML keys read
// from a .env line always do.
func hasInvalidKey(m *yaml.Node) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind != yaml.ScalarNode || secret.ValidateKey(k.Value) != nil {
			return true
		}
	}
	return false
}

func yamlValues(m *yaml.Node) (map[string]string, error) {
	out := map[string]string{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return nil, errcode.New(errcode.InvalidArgument, "keys must be strings")
		}
		if _, dup := out[k.Value]; dup {
			return nil, errcode.New(errcode.InvalidArgument, "key %s appears twice", k.Value)
		}
		if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" || v.ShortTag() == "!!binary" {
			return nil, errcode.New(errcode.InvalidArgument, "value of key %s must be a string (write \"\" for an empty value)", k.Value)
		}
		out[k.Value] = v.Value
	}
	return out, nil
}

func parseDotenvValues(data []byte) (map[string]string, error) {
	entries, err := secretref.ReadDotenv(data)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		out[e.Key] = e.Value
	}
	return out, nil
}

// valueArgs turns KEY=VALUE arguments into values. A value "@path" is read
// from the file (ZenML's expansion; "@-" is standard input) and "@@..."
// stands for a literal "@...". Bare KEY arguments are returned in prompt,
// to be asked for with -i.
func (a *app) valueArgs(args []string, interactive bool) (values map[string]string, prompt []string, err error) {
	values = map[string]string{}
	for _, arg := range args {
		k, v, hasValue := strings.Cut(arg, "=")
		if err := secret.ValidateKey(k); err != nil {
			return nil, nil, err
		}
		if _, dup := values[k]; dup || contains(prompt, k) {
			return nil, nil, errcode.New(errcode.InvalidArgument, "key %s is given twice", k)
		}
		if !hasValue {
			if !interactive {
				return nil, nil, errcode.New(errcode.InvalidArgument, "key %s has no value: write %s=VALUE, or use -i to be asked for it", k, k)
			}
			prompt = append(prompt, k)
			continue
		}
		switch {
		case strings.HasPrefix(v, "@@"):
			v = v[1:]
		case strings.HasPrefix(v, "@"):
			data, _, err := a.readSource(v)
			if err != nil {
				return nil, nil, err
			}
			v = string(data)
		}
		values[k] = v
	}
	return values, prompt, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// promptValues fills in values for -i. On a terminal it asks for the value
// of each key without echo, one key at a time; with no keys it first asks
// for key names until an empty one. Without a terminal it reads standard
// input instead: one line per key's value, or with no keys KEY=VALUE lines
// until the end of input or an empty line.
func (a *app) promptValues(keys []string, into map[string]string) error {
	if !a.isTerminal() {
		return a.readValueLines(keys, into)
	}
	if len(keys) == 0 {
		for {
			fmt.Fprint(a.stderr, "Key (empty to finish): ")
			k, err := a.readLine()
			if err != nil || k == "" {
				break
			}
			if err := secret.ValidateKey(k); err != nil {
				return err
			}
			if _, dup := into[k]; dup || contains(keys, k) {
				return errcode.New(errcode.InvalidArgument, "key %s is given twice", k)
			}
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		v, err := a.readSecret(fmt.Sprintf("Value for %s: ", k))
		if err != nil {
			return err
		}
		into[k] = v
	}
	return nil
}

// readValueLines is promptValues without a terminal.
func (a *app) readValueLines(keys []string, into map[string]string) error {
	if len(keys) > 0 {
		for _, k := range keys {
			v, err := a.readLine()
			if err != nil {
				return errcode.New(errcode.InvalidArgument, "-i without a terminal reads one line per value from standard input, and it ended before the value of %s", k)
			}
			into[k] = v
		}
		return nil
	}
	for n := 1; ; n++ {
		line, err := a.readLine()
		if err != nil || line == "" {
			return nil
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return errcode.New(errcode.InvalidArgument, "-i without a terminal reads KEY=VALUE lines from standard input; line %d has no =", n)
		}
		if err := secret.ValidateKey(k); err != nil {
			return errcode.New(errcode.InvalidArgument, "line %d: %s", n, errcode.Message(err))
		}
		if _, dup := into[k]; dup {
			return errcode.New(errcode.InvalidArgument, "key %s is given twice", k)
		}
		into[k] = v
	}
}

// mergeValues adds from into values; a key in both is an error.
func mergeValues(values, from map[string]string) error {
	for k, v := range from {
		if _, dup := values[k]; dup {
			return errcode.New(errcode.InvalidArgument, "key %s is given twice", k)
		}
		values[k] = v
	}
	return nil
}

// encodeValues writes values as YAML, JSON or .env, so that parseValues
// reads back exactly the same map.
func encodeValues(values map[string]string, format string) ([]byte, error) {
	switch format {
	case "yaml", "yml":
		return marshalYAML(values)
	case "json":
		return marshalJSON(values)
	case "env", "dotenv":
		return secretref.WriteDotenv(values), nil
	}
	return nil, errcode.New(errcode.InvalidArgument, "format must be yaml, json or env, got %q", format)
}

func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "cannot encode JSON")
	}
	return b.Bytes(), nil
}

// marshalYAML writes v as YAML, fields in the order its JSON encoding has.
// Strings that are not plain words are written double-quoted with this
// package's own escaping (yamlQuote): yaml.v3's emitter drops a leading line
// break of a double-quoted string ("\n" comes out as ""), and Node.Encode
// goes through that emitter. So v is encoded as JSON, parsed into nodes
// (the parser is exact), string scalars are swapped for placeholder words,
// and the quoted strings are put in their place after encoding.
func marshalYAML(v any) ([]byte, error) {
	data, err := marshalJSON(v)
	if err != nil {
		return nil, err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "cannot encode YAML")
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	p := &placeholders{prefix: "lwq" + hex.EncodeToString(nonce[:]) + "x", quoted: map[string]string{}}
	p.replace(&n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "cannot encode YAML")
	}
	_ = enc.Close()
	// One pass over the output for all placeholders (a Replace per
	// placeholder made exporting 10,000 secrets quadratic). Placeholders end
	// in "z", so none is a prefix of another.
	pairs := make([]string, 0, 2*len(p.quoted))
	for token, quoted := range p.quoted {
		pairs = append(pairs, token, quoted)
	}
	return []byte(strings.NewReplacer(pairs...).Replace(b.String())), nil
}

type placeholders struct {
	prefix string
	quoted map[string]string // placeholder -> quoted string
}

// replace turns flow collections (from JSON) into block ones and strings
// that need quoting into placeholders.
func (p *placeholders) replace(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && !isPlainYAML(n.Value) {
		token := p.prefix + strconv.Itoa(len(p.quoted)) + "z"
		p.quoted[token] = yamlQuote(n.Value)
		n.Value = token
		return
	}
	for _, c := range n.Content {
		p.replace(c)
	}
}

// isPlainYAML reports whether s can be written as a plain scalar and read
// back as the same string: a word of safe characters that YAML does not
// take for a number, boolean or null.
func isPlainYAML(s string) bool {
	if s == "" || s[0] == '-' || s[0] == '.' || s[0] == '@' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_./@+-", r)) {
			return false
		}
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil || len(n.Content) != 1 {
		return false
	}
	c := n.Content[0]
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off": // booleans to YAML 1.1 readers
		return false
	}
	return c.Kind == yaml.ScalarNode && c.ShortTag() == "!!str" && c.Value == s
}

// yamlQuote writes s as a YAML double-quoted scalar, escaping the quote,
// the backslash, every control character, U+2028, U+2029 and the byte
// order mark, so that every YAML reader gets s back exactly.
func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x2028 || r == 0x2029 || r == 0xfeff:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// printValuesTable prints keys and values for people; values with control
// characters are quoted so each stays on one line.
func printValuesTable(w io.Writer, values map[string]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE")
	keys := secret.KeysOf(values)
	sort.Strings(keys)
	for _, k := range keys {
		v := values[k]
		if strings.ContainsAny(v, "\n\r\t\x00") || v == "" || strings.TrimSpace(v) != v {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(tw, "%s\t%s\n", k, v)
	}
	tw.Flush()
}
