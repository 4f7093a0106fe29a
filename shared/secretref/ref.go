// Package secretref parses and resolves secret references: strings such as
// "{{db.password}}" that stand for the value of key "password" of the secret
// named "db". Configuration files (YAML, JSON, .env) hold references instead
// of credentials, and the CLI renders them (lockwell resolve) or puts the
// values into a process's environment (lockwell run).
//
// Two forms are recognised:
//
//   - ZenML's form: the whole string is one reference. It matches ZenML's
//     expression \{\{\s*\S+?\.\S+\s*\}\} against the entire string; the part
//     between the braces is split at the FIRST "." and both parts are
//     stripped of whitespace. So the key may contain dots and the secret name
//     may not, and whitespace is allowed only just inside the braces.
//   - Lockwell's extension: references embedded in a longer string, as in
//     "postgres://{{db.user}}:{{db.password}}@host/db". An embedded reference
//     is "{{", optional whitespace, a secret name (letters, digits and
//     "_ @ + = -"), ".", a key (a valid key), optional whitespace, "}}".
//     Anything else between braces (a Helm or Jinja template, say) is left
//     as it is, and "\{{" writes a literal "{{".
//
// Resolution looks up the caller's private secret of the name first, then the
// public one (the Source decides; the API client's Lookup does exactly that).
// Errors name the secret and key and list the keys the secret has; they never
// contain a value.
package secretref

import (
	"strings"
	"unicode"

	"github.com/lockwell/lockwell/shared/errcode"
)

// Ref is one reference: the value of Key in the secret named Name.
type Ref struct {
	Name string
	Key  string
}

// String returns the reference in its canonical form, "{{name.key}}".
func (r Ref) String() string { return "{{" + r.Name + "." + r.Key + "}}" }

// isSpace is Python's str.isspace, which ZenML's \s and strip() use: Go's
// unicode.IsSpace plus the ASCII separators U+001C to U+001F.
func isSpace(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f }

// IsReference reports whether the whole of s is one reference in ZenML's
// form: s fully matches \{\{\s*\S+?\.\S+\s*\}\}.
func IsReference(s string) bool {
	_, ok := zenmlInner(s)
	return ok
}

// zenmlInner returns the text between the braces, trimmed, when s fully
// matches ZenML's expression. The expression matches exactly when the inner
// text is whitespace, then a run of non-whitespace that has a "." with at
// least one character on each side, then whitespace.
func zenmlInner(s string) (string, bool) {
	if len(s) < 4 || !strings.HasPrefix(s, "{{") || !strings.HasSuffix(s, "}}") {
		return "", false
	}
	body := strings.TrimFunc(s[2:len(s)-2], isSpace)
	if body == "" || strings.IndexFunc(body, isSpace) >= 0 {
		return "", false
	}
	// A "." that is neither the first nor the last character of the run.
	if len(body) < 3 || strings.IndexByte(body[1:len(body)-1], '.') < 0 {
		return "", false
	}
	return body, true
}

// Parse parses s, which must be wholly one reference in ZenML's form, exactly
// as ZenML does: strip the braces, split at the first ".", strip whitespace.
// Errors (invalid_argument) say why s is not a reference, or that the secret
// name is empty (ZenML's expression accepts "{{.a.b}}").
func Parse(s string) (Ref, error) {
	body, ok := zenmlInner(s)
	if !ok {
		return Ref{}, errcode.New(errcode.InvalidArgument,
			"%q is not a secret reference; write {{secret_name.key}}", shorten(s))
	}
	name, key, _ := strings.Cut(body, ".")
	if name == "" {
		return Ref{}, errcode.New(errcode.InvalidArgument, "secret reference %q has an empty secret name", shorten(s))
	}
	return Ref{Name: name, Key: key}, nil
}

// shorten keeps references in error messages readable. References hold names
// and keys, never values.
func shorten(s string) string {
	const max = 80
	if len(s) > max {
		return string([]rune(s[:max])) + "…"
	}
	return s
}

// Template is a string split into literal text and references.
type Template struct {
	parts []part
}

type part struct {
	text  string // literal text when ref is nil
	ref   *Ref
	whole bool // the ZenML form: the entire string is this reference
}

// ParseTemplate splits s into literal text and references. When the whole of
// s is a reference in ZenML's form that is the only part; otherwise embedded
// references are found as the package comment describes. It returns an error
// only for a whole-string reference with an empty secret name.
//
// One deviation from ZenML: a string such as "{{a.b}}{{c.d}}" fully matches
// ZenML's expression with the key "b}}{{c.d", which no Lockwell key can be.
// When the key of a whole-string match holds a brace, the string is read as
// embedded references instead.
func ParseTemplate(s string) (Template, error) {
	if IsReference(s) {
		ref, err := Parse(s)
		if err != nil {
			return Template{}, err
		}
		if !strings.ContainsAny(ref.Key, "{}") {
			return Template{parts: []part{{ref: &ref, whole: true}}}, nil
		}
	}
	var t Template
	var lit strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], `\{{`) {
			lit.WriteString("{{")
			i += 3
			continue
		}
		if strings.HasPrefix(s[i:], "{{") {
			if end := strings.Index(s[i+2:], "}}"); end >= 0 {
				if ref, ok := parseEmbedded(s[i+2 : i+2+end]); ok {
					if lit.Len() > 0 {
						t.parts = append(t.parts, part{text: lit.String()})
						lit.Reset()
					}
					t.parts = append(t.parts, part{ref: &ref})
					i += 2 + end + 2
					continue
				}
			}
		}
		lit.WriteByte(s[i])
		i++
	}
	if lit.Len() > 0 || len(t.parts) == 0 {
		t.parts = append(t.parts, part{text: lit.String()})
	}
	return t, nil
}

// parseEmbedded parses the text between "{{" and "}}" of an embedded
// reference: a valid secret name without dots, ".", a valid key.
func parseEmbedded(inner string) (Ref, bool) {
	body := strings.TrimFunc(inner, isSpace)
	name, key, ok := strings.Cut(body, ".")
	if !ok || name == "" || key == "" {
		return Ref{}, false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '_' && c != '@' && c != '+' && c != '=' && c != '-' {
			return Ref{}, false
		}
	}
	if c := key[0]; !isLetter(c) && c != '_' {
		return Ref{}, false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return Ref{}, false
		}
	}
	return Ref{Name: name, Key: key}, true
}

// KeylessRefs returns the names in s written as {{name}}: a secret name
// with no key, which is no reference (ZenML leaves it as text) but almost
// always a mistake for {{name.key}}. \{{ is a literal and is skipped.
func KeylessRefs(s string) []string {
	var names []string
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], `\{{`) {
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "{{") {
			i++
			continue
		}
		end := strings.Index(s[i+2:], "}}")
		if end < 0 {
			break
		}
		inner := strings.TrimFunc(s[i+2:i+2+end], isSpace)
		if isKeylessName(inner) {
			names = append(names, inner)
		}
		i += 2 + end + 2
	}
	return names
}

func isKeylessName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '@' && c != '+' && c != '=' && c != '-' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool  { return isLetter(c) || c >= '0' && c <= '9' }

// Refs returns the references of t in order of appearance.
func (t Template) Refs() []Ref {
	var refs []Ref
	for _, p := range t.parts {
		if p.ref != nil {
			refs = append(refs, *p.ref)
		}
	}
	return refs
}

// HasRefs reports whether t contains a reference.
func (t Template) HasRefs() bool {
	for _, p := range t.parts {
		if p.ref != nil {
			return true
		}
	}
	return false
}

// Render returns t with every reference replaced by value(ref). It stops at
// the first error, which it returns unchanged.
func (t Template) Render(value func(Ref) (string, error)) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.ref == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := value(*p.ref)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	return b.String(), nil
}
