package secretref

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/secret/secrettest"
)

// ZenML's expression \{\{\s*\S+?\.\S+\s*\}\} must match the whole string;
// the inside is split at the first "." and stripped.
func TestParseZenMLForm(t *testing.T) {
	cases := []struct {
		in        string
		ok        bool
		name, key string
	}{
		{"{{db.password}}", true, "db", "password"},
		{"{{ db.password }}", true, "db", "password"},
		{"{{\tdb.password\n}}", true, "db", "password"},
		{"{{\u00a0db.password\u2003}}", true, "db", "password"}, // Unicode whitespace, as Python's \s
		{"{{\x1cdb.password}}", true, "db", "password"},         // Python's \s includes U+001C..U+001F
		{"{{db.a.b.c}}", true, "db", "a.b.c"},                   // split at the first "."
		{"{{a.b}}}", true, "a", "b}"},                           // \S+ may hold braces
		{"{{a-b@c.k_1}}", true, "a-b@c", "k_1"},
		{"{{db.}}", false, "", ""},
		{"{{.key}}", false, "", ""},
		{"{{db}}", false, "", ""},
		{"{{db .key}}", false, "", ""}, // whitespace only just inside the braces
		{"{{db. key}}", false, "", ""},
		{" {{db.key}}", false, "", ""}, // the whole string must match
		{"{{db.key}} ", false, "", ""},
		{"{{db.key}}\n", false, "", ""},
		{"x{{db.key}}", false, "", ""},
		{"{db.key}", false, "", ""},
		{"{{}}", false, "", ""},
		{"", false, "", ""},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			assert.Equal(t, c.ok, IsReference(c.in))
			ref, err := Parse(c.in)
			if !c.ok {
				require.Error(t, err)
				assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, Ref{Name: c.name, Key: c.key}, ref)
		})
	}
}

// "{{.a.b}}" matches ZenML's expression (the lazy name part takes ".a") but
// splitting at the first "." leaves an empty name: a reference, and an error.
func TestParseEmptyName(t *testing.T) {
	assert.True(t, IsReference("{{.a.b}}"))
	_, err := Parse("{{.a.b}}")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "empty secret name")
	_, err = ParseTemplate("{{.a.b}}")
	require.Error(t, err)
}

func TestParseTemplate(t *testing.T) {
	cases := []struct {
		in   string
		refs []Ref
		lit  string // rendered with every reference replaced by <name/key>
	}{
		{"plain", nil, "plain"},
		{"", nil, ""},
		{"{{db.password}}", []Ref{{"db", "password"}}, "<db/password>"},
		{"postgres://{{db.user}}:{{ db.password }}@host/db", []Ref{{"db", "user"}, {"db", "password"}}, "postgres://<db/user>:<db/password>@host/db"},
		{"{{a.b}}{{c.d}}", []Ref{{"a", "b"}, {"c", "d"}}, "<a/b><c/d>"},
		{"{{a.b}}}", []Ref{{"a", "b"}}, "<a/b>}"},
		{"key {{db.a.b}} dotted", []Ref{{"db", "a.b"}}, "key <db/a.b> dotted"},
		{"helm {{ .Values.x }} stays", nil, "helm {{ .Values.x }} stays"},
		{"jinja {{ name }} stays", nil, "jinja {{ name }} stays"},
		{"bad key {{db.1x}} stays", nil, "bad key {{db.1x}} stays"},
		{`escaped \{{db.key}}`, nil, "escaped {{db.key}}"},
		{"unclosed {{db.key", nil, "unclosed {{db.key"},
		{"{{db.key}} trailing", []Ref{{"db", "key"}}, "<db/key> trailing"},
		{"unicode ü {{db.k}} ✓", []Ref{{"db", "k"}}, "unicode ü <db/k> ✓"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			tpl, err := ParseTemplate(c.in)
			require.NoError(t, err)
			assert.Equal(t, c.refs, tpl.Refs())
			assert.Equal(t, len(c.refs) > 0, tpl.HasRefs())
			out, err := tpl.Render(func(r Ref) (string, error) { return "<" + r.Name + "/" + r.Key + ">", nil })
			require.NoError(t, err)
			assert.Equal(t, c.lit, out)
		})
	}
}

// memSource is a Source over fixed secrets: private ones shadow public ones
// of the same name, as the API client's lookup does.
type memSource struct {
	private, public map[string]map[string]string
	valueReads      int
}

func (m *memSource) LookupSecret(_ context.Context, name string, withValues bool) (*secret.Secret, error) {
	v, ok := m.private[name]
	if !ok {
		v, ok = m.public[name]
	}
	if !ok {
		return nil, errcode.New(errcode.NotFound, "no secret named %s: neither a private one of yours nor a public one", name)
	}
	s := &secret.Secret{Name: name, Keys: secret.KeysOf(v)}
	if withValues {
		m.valueReads++
		s.Values = v
	}
	return s, nil
}

func newSource() *memSource {
	return &memSource{
		private: map[string]map[string]string{"db": {"user": "me", "password": "private-pw"}},
		public: map[string]map[string]string{
			"db":  {"user": "shared", "password": "public-pw"},
			"api": {"token": "tok", "a.b": "dotted"},
		},
	}
}

func TestResolverPrivateFirstAndErrors(t *testing.T) {
	ctx := context.Background()
	src := newSource()
	r := NewResolver(src)

	v, err := r.Render(ctx, "{{db.password}}")
	require.NoError(t, err)
	assert.True(t, v == "private-pw", "the private secret must shadow the public one")

	v, err = r.Render(ctx, "https://x/?t={{api.token}}&d={{ api.a.b }}")
	require.NoError(t, err)
	assert.True(t, v == "https://x/?t=tok&d=dotted", "embedded references resolve")

	_, err = r.Render(ctx, "{{nope.key}}")
	require.Error(t, err)
	assert.Equal(t, errcode.NotFound, errcode.Of(err))
	assert.Equal(t, "secret reference {{nope.key}}: no secret named nope: neither a private one of yours nor a public one", errcode.Message(err))

	_, err = r.Render(ctx, "{{db.host}}")
	require.Error(t, err)
	assert.Equal(t, "secret reference {{db.host}}: the secret db does not contain a value for key host. Available keys: password, user", errcode.Message(err))
	assert.NotContains(t, err.Error(), "private-pw")
	assert.NotContains(t, err.Error(), "me")
}

func TestCheckLevelsReadNoValues(t *testing.T) {
	ctx := context.Background()
	src := newSource()
	r := NewResolver(src)
	for _, c := range []struct {
		ref   Ref
		level Level
		ok    bool
	}{
		{Ref{"db", "host"}, CheckNone, true},
		{Ref{"nope", "x"}, CheckNone, true},
		{Ref{"db", "host"}, CheckSecret, true},
		{Ref{"nope", "x"}, CheckSecret, false},
		{Ref{"db", "host"}, CheckKey, false},
		{Ref{"db", "user"}, CheckKey, true},
		{Ref{"api", "a.b"}, CheckKey, true},
	} {
		err := r.Check(ctx, c.ref, c.level)
		assert.Equal(t, c.ok, err == nil, "%s at %s: %v", c.ref, c.level, err)
	}
	assert.Zero(t, src.valueReads, "checks must not read values")

	_, err := ParseLevel("SECRET_EXISTS")
	assert.Error(t, err)
}

func TestCheckFileListsProblems(t *testing.T) {
	doc := "a: '{{db.user}}'\nb:\n  - '{{db.host}}'\n  - 'x {{gone.k}} y'\nc: 3\n"
	r := NewResolver(newSource())
	found, problems, err := r.CheckFile(context.Background(), []byte(doc), YAML, CheckKey)
	require.NoError(t, err)
	assert.Len(t, found, 3)
	require.Len(t, problems, 2)
	assert.Equal(t, "b[0]", problems[0].Path)
	assert.Equal(t, "b[1]", problems[1].Path)
	assert.Contains(t, problems[1].Err.Error(), "no secret named gone")
}

// {{name}} without a key is no reference, but a check reports it at every
// level, while rendering leaves it alone as ZenML does.
func TestCheckFileReportsKeylessReferences(t *testing.T) {
	doc := "a: '{{db}}'\nb: 'x {{ db }} y \\{{lit}}'\nc: '{{db.user}}'\nd: '{{not a ref}}'\n"
	assert.Equal(t, []string{"db"}, KeylessRefs("x {{ db }} y \\{{lit}}"))
	r := NewResolver(newSource())
	for _, level := range []Level{CheckNone, CheckSecret, CheckKey} {
		found, problems, err := r.CheckFile(context.Background(), []byte(doc), YAML, level)
		require.NoError(t, err)
		assert.Len(t, found, 1, level)
		require.Len(t, problems, 2, level)
		assert.Equal(t, "a", problems[0].Path)
		assert.Equal(t, "b", problems[1].Path)
		assert.Equal(t, "{{db}} names no key; write {{db.KEY}}", problems[0].Err.Error())
	}
	out, err := r.RenderFile(context.Background(), []byte("a: '{{db}}'\n"), YAML)
	require.NoError(t, err)
	assert.Equal(t, "a: '{{db}}'\n", string(out))
}

// awkward holds values that break naive quoting in every format.
var awkward = map[string]string{
	"empty":     "",
	"newline":   "line1\nline2",
	"trailing":  "ends with newline\n",
	"crlf":      "a\r\nb",
	"quotes":    `she said "hi" and 'bye'`,
	"equals":    "a=b=c",
	"hash":      "# not a comment",
	"hash_mid":  "value #still value",
	"unicode":   "päßwörd ✓ 日本語 🎉",
	"spaces":    "  padded  ",
	"backslash": `C:\path\n\t`,
	"dollar":    "$HOME ${X} `cmd`",
	"yamlish":   "- item: {a: 1}",
	"yes":       "yes",
	"null":      "null",
	"number":    "0123",
	"tab":       "\tt",
	"ref":       "{{db.user}}",
	"only_nl":   "\n",
	"nul":       "a\x00b",
	"bom":       "\ufeffx",
}

func TestDotenvRoundTrip(t *testing.T) {
	got, err := ReadDotenv(WriteDotenv(awkward))
	require.NoError(t, err)
	m := map[string]string{}
	for _, e := range got {
		m[e.Key] = e.Value
	}
	secrettest.AssertSameValues(t, awkward, m)
}

func TestReadDotenvDialect(t *testing.T) {
	in := "# comment\n\nexport A=plain  # trailing comment\nB='single # kept'\nC=\"esc \\n \\\" \\$ \\\\ \\q\"\r\nD=\"multi\nline\"\nE=\nF=a=b\nG = spaced\nH='multi\nline single'\n"
	got, err := ReadDotenv([]byte(in))
	require.NoError(t, err)
	want := map[string]string{"A": "plain", "B": "single # kept", "C": "esc \n \" $ \\ \\q", "D": "multi\nline", "E": "", "F": "a=b", "G": "spaced", "H": "multi\nline single"}
	m := map[string]string{}
	for _, e := range got {
		m[e.Key] = e.Value
	}
	secrettest.AssertSameValues(t, want, m)
	assert.Equal(t, 3, got[0].Line)
	assert.Equal(t, 8, got[4].Line, "E starts after the two-line D")

	for _, bad := range []string{"NOEQUALS\n", "1KEY=x\n", "K=\"open\n", "K='open\n", "K=\"x\" junk\n", "K=1\nK=2\n"} {
		_, err := ReadDotenv([]byte(bad))
		assert.Error(t, err, bad)
	}
	_, err = ReadDotenv([]byte("K=\"secret-value-here\" junk\n"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret-value-here")
}

func TestTransformPreservesStructure(t *testing.T) {
	identity := func(_, s string) (string, error) { return s, nil }
	yamlIn := "# top comment\nb: 1\na:\n  - '{{db.user}}'\n  - true\nc: &anchor plain # trailing\nd: *anchor\n"
	out, err := Transform([]byte(yamlIn), YAML, identity)
	require.NoError(t, err)
	assert.Contains(t, string(out), "# top comment")
	assert.Contains(t, string(out), "# trailing")
	assert.Less(t, strings.Index(string(out), "b: 1"), strings.Index(string(out), "a:"), "key order kept")

	jsonIn := `{"z": 1.50, "a": ["{{db.user}}", null, false, {"<k>": "x&y"}]}`
	out, err = Transform([]byte(jsonIn), JSON, identity)
	require.NoError(t, err)
	assert.Equal(t, "{\n  \"z\": 1.50,\n  \"a\": [\n    \"{{db.user}}\",\n    null,\n    false,\n    {\n      \"<k>\": \"x&y\"\n    }\n  ]\n}\n", string(out))
}

// Rendering a file puts every awkward value where the reference was, and
// parsing the output gives the value back exactly.
func TestRenderFileAwkwardValues(t *testing.T) {
	src := &memSource{public: map[string]map[string]string{"s": awkward}}
	keys := secret.KeysOf(awkward)
	ctx := context.Background()

	var y, j, e strings.Builder
	y.WriteString("# config\nplain: 7\n")
	for _, k := range keys { // double-quoted and embedded in a block scalar
		y.WriteString("dq_" + k + ": \"{{s." + k + "}}\"\n")
		y.WriteString("pl_" + k + ": x{{s." + k + "}}\n")
	}
	j.WriteString("{")
	for i, k := range keys {
		y.WriteString(k + ": '{{s." + k + "}}'\n")
		if i > 0 {
			j.WriteString(",")
		}
		j.WriteString(`"` + k + `": "{{s.` + k + `}}"`)
		e.WriteString(k + "={{s." + k + "}}\n")
	}
	j.WriteString("}")

	for _, c := range []struct {
		f  Format
		in string
	}{{YAML, y.String()}, {JSON, j.String()}, {Dotenv, e.String()}} {
		t.Run(string(c.f), func(t *testing.T) {
			out, err := NewResolver(src).RenderFile(ctx, []byte(c.in), c.f)
			require.NoError(t, err)
			got := map[string]string{}
			_, err = Transform(out, c.f, func(path, s string) (string, error) {
				got[path] = s
				return s, nil
			})
			require.NoError(t, err)
			if c.f == YAML {
				for _, k := range keys {
					if got["dq_"+k] != awkward[k] {
						t.Errorf("double-quoted reference to %s did not round-trip", k)
					}
					delete(got, "dq_"+k)
					if got["pl_"+k] != "x"+awkward[k] {
						t.Errorf("plain embedded reference to %s did not round-trip", k)
					}
					delete(got, "pl_"+k)
				}
			}
			secrettest.AssertSameValues(t, awkward, got)
		})
	}
}

func TestRenderFileErrorNamesPath(t *testing.T) {
	r := NewResolver(newSource())
	_, err := r.RenderFile(context.Background(), []byte("db:\n  url: postgres://{{db.user}}:{{db.pass}}@h\n"), YAML)
	require.Error(t, err)
	assert.Equal(t, "db.url: secret reference {{db.pass}}: the secret db does not contain a value for key pass. Available keys: password, user", errcode.Message(err))
	assert.False(t, reflect.DeepEqual(err, nil))
}

func TestTransformRejectsBadInput(t *testing.T) {
	id := func(_, s string) (string, error) { return s, nil }
	_, err := Transform([]byte("a: [\n"), YAML, id)
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
	_, err = Transform([]byte(`{"a": "secret-value"`), JSON, id)
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
	_, err = Transform([]byte(`{} {}`), JSON, id)
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}

func TestFormatOf(t *testing.T) {
	assert.Equal(t, JSON, FormatOf("x/a.JSON"))
	assert.Equal(t, Dotenv, FormatOf(".env"))
	assert.Equal(t, Dotenv, FormatOf(".env.local"))
	assert.Equal(t, Dotenv, FormatOf("prod.env"))
	assert.Equal(t, YAML, FormatOf("stack.yml"))
}
