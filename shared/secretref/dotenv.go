package secretref

import (
	"sort"
	"strings"

	"github.com/lockwell/lockwell/shared/errcode"
)

// The .env dialect read and written here is the common one (docker compose,
// python-dotenv, a shell's "source"):
//
//	# comment
//	KEY=plain value           # a comment after " #" is dropped
//	export KEY='single quoted: literal, may span lines'
//	KEY="double quoted: \\ \" \$ \` \n \r \t are escapes; may span lines"
//
// Keys are letters, digits and "_ . -", starting with a letter or "_", so
// every Lockwell key can be written. WriteDotenv writes values that are not
// plain words double-quoted, with "\" "\"" "$" "`" and carriage returns
// escaped and newlines kept literal, so ReadDotenv returns exactly what was
// written and a shell that sources the file sees the same strings (except
// for carriage returns).

// DotenvEntry is one KEY=VALUE line of a .env file.
type DotenvEntry struct {
	Key   string
	Value string
	Line  int // 1-based line where the entry starts
}

type dotenvLine struct {
	raw   string // the original text, written back when the entry is unchanged
	entry *DotenvEntry
	dirty bool
}

type dotenvFile struct{ lines []dotenvLine }

// ReadDotenv parses a .env file. Errors (invalid_argument) give the line
// number and never the value. A key that appears twice is an error.
func ReadDotenv(data []byte) ([]DotenvEntry, error) {
	f, err := parseDotenv(string(data))
	if err != nil {
		return nil, err
	}
	var out []DotenvEntry
	seen := map[string]int{}
	for _, l := range f.lines {
		if l.entry == nil {
			continue
		}
		if prev, dup := seen[l.entry.Key]; dup {
			return nil, errcode.New(errcode.InvalidArgument, "line %d: key %s was already set on line %d", l.entry.Line, l.entry.Key, prev)
		}
		seen[l.entry.Key] = l.entry.Line
		out = append(out, *l.entry)
	}
	return out, nil
}

// WriteDotenv writes values as a .env file, keys sorted.
func WriteDotenv(values map[string]string) []byte {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(QuoteDotenv(values[k]))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// QuoteDotenv returns v as a .env value: bare when it is a plain word,
// otherwise double-quoted.
func QuoteDotenv(v string) string {
	if v != "" && strings.IndexFunc(v, func(r rune) bool { return !isPlainDotenv(r) }) < 0 {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch r {
		case '\\', '"', '$', '`':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func isPlainDotenv(r rune) bool {
	return r < 0x80 && (isAlnum(byte(r)) || strings.ContainsRune("_./:@+,%-", r))
}

func isDotenvKey(k string) bool {
	if k == "" || !isLetter(k[0]) && k[0] != '_' {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func parseDotenv(s string) (*dotenvFile, error) {
	f := &dotenvFile{}
	line := 1
	for len(s) > 0 {
		start := line
		// One logical line: up to the end of line, or further for a quoted
		// value that spans lines.
		text, rest := cutLine(s)
		trimmed := strings.TrimLeft(text, " \t")
		if trimmed == "" || trimmed[0] == '#' {
			f.lines = append(f.lines, dotenvLine{raw: text})
			s = rest
			line++
			continue
		}
		body := strings.TrimPrefix(trimmed, "export ")
		eq := strings.IndexByte(body, '=')
		if eq < 0 {
			return nil, errcode.New(errcode.InvalidArgument, "line %d: expected KEY=VALUE", start)
		}
		key := strings.TrimRight(body[:eq], " \t")
		if !isDotenvKey(key) {
			return nil, errcode.New(errcode.InvalidArgument, "line %d: %q is not a valid key (letters, digits and _ . -, starting with a letter or _)", start, shorten(key))
		}
		// The value starts after "=" and spaces; it is parsed from the whole
		// remaining input so that quotes may span lines.
		offset := len(s) - len(strings.TrimLeft(s, " \t")) + (len(trimmed) - len(body)) + eq + 1
		valueAndRest := strings.TrimLeft(s[offset:], " \t")
		value, consumed, err := parseDotenvValue(valueAndRest)
		if err != nil {
			return nil, errcode.New(errcode.InvalidArgument, "line %d: key %s: %s", start, key, errcode.Message(err))
		}
		rawEnd := len(s) - len(valueAndRest) + consumed
		raw := s[:rawEnd]
		line += strings.Count(raw, "\n")
		s = s[rawEnd:]
		// Drop the line ending after the entry.
		if strings.HasPrefix(s, "\r\n") {
			s = s[2:]
		} else if strings.HasPrefix(s, "\n") {
			s = s[1:]
		}
		line++
		f.lines = append(f.lines, dotenvLine{raw: raw, entry: &DotenvEntry{Key: key, Value: value, Line: start}})
	}
	return f, nil
}

// cutLine splits s at the first line ending, which it drops.
func cutLine(s string) (line, rest string) {
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		return strings.TrimSuffix(s, "\r"), ""
	}
	return strings.TrimSuffix(s[:i], "\r"), s[i+1:]
}

// parseDotenvValue parses a value at the start of s and returns it with the
// number of bytes consumed, up to (not including) the line ending. A
// trailing comment is consumed and dropped.
func parseDotenvValue(s string) (string, int, error) {
	var value string
	n := 0
	switch {
	case strings.HasPrefix(s, "'"):
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", 0, errcode.New(errcode.InvalidArgument, "single quote is not closed")
		}
		value, n = s[1:1+end], end+2
	case strings.HasPrefix(s, `"`):
		var b strings.Builder
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] != '\\' || i+1 == len(s) {
				b.WriteByte(s[i])
				continue
			}
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '\\', '"', '$', '`':
				b.WriteByte(s[i])
			case '\n': // a line continuation, as in a shell
			default:
				b.WriteByte('\\')
				b.WriteByte(s[i])
			}
		}
		if i >= len(s) {
			return "", 0, errcode.New(errcode.InvalidArgument, "double quote is not closed")
		}
		value, n = b.String(), i+1
	default:
		line, _ := cutLine(s)
		end := len(line)
		if i := strings.Index(line, " #"); i >= 0 {
			end = i
		} else if i := strings.Index(line, "\t#"); i >= 0 {
			end = i
		}
		if strings.HasPrefix(line, "#") {
			end = 0
		}
		return strings.TrimRight(line[:end], " \t"), len(line), nil
	}
	// After a quoted value: spaces and an optional comment up to the line end.
	line, _ := cutLine(s[n:])
	tail := strings.TrimLeft(line, " \t")
	if tail != "" && tail[0] != '#' {
		return "", 0, errcode.New(errcode.InvalidArgument, "unexpected text after the closing quote")
	}
	return value, n + len(line), nil
}

func (f *dotenvFile) render() []byte {
	var b strings.Builder
	for _, l := range f.lines {
		if l.dirty {
			b.WriteString(l.entry.Key)
			b.WriteByte('=')
			b.WriteString(QuoteDotenv(l.entry.Value))
		} else {
			b.WriteString(l.raw)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}
