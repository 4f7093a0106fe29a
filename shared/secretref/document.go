package secretref

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lockwell/lockwell/shared/errcode"
)

// Format is a file format that references can be resolved in.
type Format string

// The formats.
const (
	YAML   Format = "yaml"
	JSON   Format = "json"
	Dotenv Format = "env"
)

// ParseFormat accepts yaml, yml, json, env and dotenv.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "yaml", "yml":
		return YAML, nil
	case "json":
		return JSON, nil
	case "env", "dotenv":
		return Dotenv, nil
	}
	return "", errcode.New(errcode.InvalidArgument, "format must be yaml, json or env, got %q", s)
}

// FormatOf guesses a file's format from its name: .json is JSON, .env (or a
// name starting with ".env") is a .env file, anything else is YAML (which
// also reads JSON).
func FormatOf(path string) Format {
	base := strings.ToLower(filepath.Base(path))
	switch {
	case strings.HasSuffix(base, ".json"):
		return JSON
	case strings.HasSuffix(base, ".env") || strings.HasPrefix(base, ".env"):
		return Dotenv
	}
	return YAML
}

// Transform calls fn for every string value in the document data, in
// document order, with a path naming where the value is ("db.hosts[0]",
// or the key of a .env entry), and returns the document with each value
// replaced by what fn returned. The structure is preserved: only string
// scalars are passed to fn (never mapping keys, numbers or booleans), YAML
// keeps its comments, key order and anchors, JSON its key order and number
// literals, and .env files their comments and unchanged lines. fn's error
// is returned with the path prefixed.
func Transform(data []byte, f Format, fn func(path, s string) (string, error)) ([]byte, error) {
	switch f {
	case YAML:
		return transformYAML(data, fn)
	case JSON:
		return transformJSON(data, fn)
	case Dotenv:
		return transformDotenv(data, fn)
	}
	return nil, errcode.New(errcode.InvalidArgument, "unknown format %q", string(f))
}

func atPath(path string, err error) error {
	if path == "" {
		return err
	}
	return &errcode.Error{Code: errcode.Of(err), Message: path + ": " + errcode.Message(err), Err: unwrapped(err)}
}

func transformDotenv(data []byte, fn func(path, s string) (string, error)) ([]byte, error) {
	f, err := parseDotenv(string(data))
	if err != nil {
		return nil, err
	}
	for i := range f.lines {
		l := &f.lines[i]
		if l.entry == nil {
			continue
		}
		v, err := fn(l.entry.Key, l.entry.Value)
		if err != nil {
			return nil, atPath(l.entry.Key, err)
		}
		if v != l.entry.Value {
			l.entry.Value, l.dirty = v, true
		}
	}
	return f.render(), nil
}

func transformYAML(data []byte, fn func(path, s string) (string, error)) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, errcode.New(errcode.InvalidArgument, "not valid YAML: %s", ParseErrorText(err))
		}
		if err := walkYAML(&doc, "", fn); err != nil {
			return nil, err
		}
		if err := enc.Encode(&doc); err != nil {
			return nil, errcode.Wrap(errcode.Internal, err, "cannot write YAML")
		}
	}
	if err := enc.Close(); err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "cannot write YAML")
	}
	return out.Bytes(), nil
}

// ParseErrorText is the client-safe text of a JSON or YAML parser error: it
// keeps a YAML error's line number but drops everything from the first
// quote on, where parsers start to quote the input, which may be a value.
func ParseErrorText(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "line ") {
		return msg[:i] + ": " + firstWords(msg[i+2:])
	}
	return firstWords(msg)
}

// firstWords keeps a parser message up to its first quote, where parsers
// start to quote the input.
func firstWords(s string) string {
	if i := strings.IndexAny(s, "`'\""); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

func walkYAML(n *yaml.Node, path string, fn func(path, s string) (string, error)) error {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := walkYAML(c, path, fn); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := walkYAML(c, fmt.Sprintf("%s[%d]", path, i), fn); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			p := key
			if path != "" {
				p = path + "." + key
			}
			if err := walkYAML(n.Content[i+1], p, fn); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" {
			return nil
		}
		v, err := fn(path, n.Value)
		if err != nil {
			return atPath(path, err)
		}
		if v != n.Value {
			n.Value = v
			n.Tag = "!!str"
			// A value that needs quoting gets it: the encoder quotes what a
			// plain scalar cannot hold, and "!!str" keeps "123" a string.
			if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				n.Style = yaml.DoubleQuotedStyle
			}
		}
	}
	return nil
}

// jsonValue is a JSON value with object key order and number literals kept.
type jsonValue struct {
	kind   byte // '{', '[', 's' (string), 'l' (literal: number, true, false, null)
	keys   []string
	fields []*jsonValue // object values, in keys' order
	items  []*jsonValue
	str    string // string value, or the literal's text
}

func transformJSON(data []byte, fn func(path, s string) (string, error)) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeJSON(dec)
	if err != nil {
		return nil, errcode.New(errcode.InvalidArgument, "not valid JSON: %s", ParseErrorText(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errcode.New(errcode.InvalidArgument, "not valid JSON: more than one value")
	}
	if err := walkJSON(v, "", fn); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	writeJSON(&b, v, "")
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func decodeJSON(dec *json.Decoder) (*jsonValue, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			v := &jsonValue{kind: '{'}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				c, err := decodeJSON(dec)
				if err != nil {
					return nil, err
				}
				v.keys, v.fields = append(v.keys, k), append(v.fields, c)
			}
			_, err := dec.Token() // '}'
			return v, err
		case '[':
			v := &jsonValue{kind: '['}
			for dec.More() {
				c, err := decodeJSON(dec)
				if err != nil {
					return nil, err
				}
				v.items = append(v.items, c)
			}
			_, err := dec.Token() // ']'
			return v, err
		}
		return nil, errors.New("unexpected delimiter")
	case string:
		return &jsonValue{kind: 's', str: t}, nil
	case json.Number:
		return &jsonValue{kind: 'l', str: t.String()}, nil
	case bool:
		return &jsonValue{kind: 'l', str: strconv.FormatBool(t)}, nil
	case nil:
		return &jsonValue{kind: 'l', str: "null"}, nil
	}
	return nil, errors.New("unexpected token")
}

func walkJSON(v *jsonValue, path string, fn func(path, s string) (string, error)) error {
	switch v.kind {
	case '{':
		for i, k := range v.keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if err := walkJSON(v.fields[i], p, fn); err != nil {
				return err
			}
		}
	case '[':
		for i, c := range v.items {
			if err := walkJSON(c, fmt.Sprintf("%s[%d]", path, i), fn); err != nil {
				return err
			}
		}
	case 's':
		s, err := fn(path, v.str)
		if err != nil {
			return atPath(path, err)
		}
		v.str = s
	}
	return nil
}

func writeJSON(b *bytes.Buffer, v *jsonValue, indent string) {
	switch v.kind {
	case '{':
		if len(v.keys) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i, k := range v.keys {
			b.WriteString(indent + "  ")
			writeJSONString(b, k)
			b.WriteString(": ")
			writeJSON(b, v.fields[i], indent+"  ")
			if i < len(v.keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case '[':
		if len(v.items) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, c := range v.items {
			b.WriteString(indent + "  ")
			writeJSON(b, c, indent+"  ")
			if i < len(v.items)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	case 's':
		writeJSONString(b, v.str)
	default:
		b.WriteString(v.str)
	}
}

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(b *bytes.Buffer, s string) {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Write(bytes.TrimSuffix(tmp.Bytes(), []byte("\n")))
}

// RenderFile resolves every reference in the document data with r.
func (r *Resolver) RenderFile(ctx context.Context, data []byte, f Format) ([]byte, error) {
	return Transform(data, f, func(_, s string) (string, error) { return r.Render(ctx, s) })
}

// Problem is one reference that failed a check.
type Problem struct {
	Path string // where in the document
	Ref  Ref
	Err  error // classified; its message names the secret and key, never a value
}

// Found is one reference in a document.
type Found struct {
	Path string
	Ref  Ref
}

// CheckFile finds every reference in the document data and checks each at
// level, reading no values. A {{name}} without a key is a problem at every
// level (see KeylessRefs). It returns the references found and the
// problems; the error is for a document that cannot be parsed, or a failure
// of the Source other than not_found.
func (r *Resolver) CheckFile(ctx context.Context, data []byte, f Format, level Level) ([]Found, []Problem, error) {
	var found []Found
	var problems []Problem
	_, err := Transform(data, f, func(path, s string) (string, error) {
		t, err := ParseTemplate(s)
		if err != nil {
			problems = append(problems, Problem{Path: path, Err: err})
			return s, nil
		}
		for _, name := range KeylessRefs(s) {
			problems = append(problems, Problem{Path: path, Ref: Ref{Name: name},
				Err: errcode.New(errcode.InvalidArgument, "{{%s}} names no key; write {{%s.KEY}}", name, name)})
		}
		for _, ref := range t.Refs() {
			found = append(found, Found{Path: path, Ref: ref})
			if err := r.Check(ctx, ref, level); err != nil {
				if !errcode.Is(err, errcode.NotFound) {
					return "", err
				}
				problems = append(problems, Problem{Path: path, Ref: ref, Err: err})
			}
		}
		return s, nil
	})
	return found, problems, err
}
