package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lockwell/lockwell/shared/errcode"
)

// MaxBodySize bounds a request body: 1 MiB. A larger body is too_large (413).
const MaxBodySize = 1 << 20

// readBody reads a JSON request body: the content type must be
// application/json (charset utf-8 if given) and the body at most MaxBodySize
// bytes of valid UTF-8.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	media, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || media != "application/json" {
		return nil, errcode.New(errcode.UnsupportedMediaType, "Content-Type must be application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, errcode.New(errcode.UnsupportedMediaType, "request body must be UTF-8 encoded JSON")
	}
	if r.ContentLength > MaxBodySize {
		return nil, errBodyTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodySize))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errBodyTooLarge
	}
	if err != nil {
		return nil, errcode.Wrap(errcode.InvalidArgument, err, "could not read the request body")
	}
	if !utf8.Valid(body) {
		return nil, errcode.New(errcode.InvalidArgument, "request body is not valid UTF-8")
	}
	return body, nil
}

var errBodyTooLarge = errcode.New(errcode.TooLarge, "request body is larger than the limit of 1 MiB")

// decodeObject walks a body that must be exactly one JSON object, calling
// field for each member with the decoder positioned at its value; field must
// consume the value or return an error. A member that appears twice,
// malformed JSON, data after the object and a string with an unpaired
// surrogate escape (checkSurrogates) are invalid_argument. No error
// message quotes the body: they give what is wrong and where.
func decodeObject(body []byte, field func(name string, dec *json.Decoder) error) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errcode.New(errcode.InvalidArgument, "request body is empty; send a JSON object")
	}
	if err := checkSurrogates(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := expectDelim(dec, '{', "request body must be a JSON object"); err != nil {
		return err
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(dec)
		}
		name := tok.(string) // object keys are always strings
		if seen[name] {
			return errcode.New(errcode.InvalidArgument, "field %s appears twice in the request body", quote(name))
		}
		seen[name] = true
		if err := field(name, dec); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return syntaxError(dec)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errcode.New(errcode.InvalidArgument, "request body has data after the JSON object")
	}
	return nil
}

func expectDelim(dec *json.Decoder, want json.Delim, msg string) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(dec)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return errcode.New(errcode.InvalidArgument, "%s", msg)
	}
	return nil
}

// syntaxError reports malformed JSON by position only: encoding/json's own
// messages can quote bytes of the body, which may be a value.
func syntaxError(dec *json.Decoder) error {
	return errcode.New(errcode.InvalidArgument, "request body is not valid JSON (near byte %d)", dec.InputOffset())
}

func unknownField(name string, known string) error {
	return errcode.New(errcode.InvalidArgument, "unknown field %s in the request body; known fields are %s", quote(name), known)
}

// readString reads a member that must be a JSON string.
func readString(dec *json.Decoder, field string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", syntaxError(dec)
	}
	s, ok := tok.(string)
	if !ok {
		return "", errcode.New(errcode.InvalidArgument, "%s must be a string", field)
	}
	return s, nil
}

// readBool reads a member that must be true or false.
func readBool(dec *json.Decoder, field string) (bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return false, syntaxError(dec)
	}
	b, ok := tok.(bool)
	if !ok {
		return false, errcode.New(errcode.InvalidArgument, "%s must be true or false", field)
	}
	return b, nil
}

// readValues reads the values member: an object whose members are strings,
// or, when allowNull, null (remove the key). Errors name the key, never the
// value.
func readValues(dec *json.Decoder, allowNull bool) (map[string]*string, error) {
	if err := expectDelim(dec, '{', `values must be an object of key/value strings, like {"KEY": "value"}`); err != nil {
		return nil, err
	}
	values := map[string]*string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(dec)
		}
		key := tok.(string)
		if _, dup := values[key]; dup {
			return nil, errcode.New(errcode.InvalidArgument, "key %s appears twice in values", quote(key))
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, syntaxError(dec)
		}
		switch v := tok.(type) {
		case string:
			values[key] = &v
		case nil:
			if !allowNull {
				return nil, errcode.New(errcode.InvalidArgument, "value of key %s must be a string, not null (null removes a key only in an update)", quote(key))
			}
			values[key] = nil
		default:
			return nil, errcode.New(errcode.InvalidArgument, "value of key %s must be a string", quote(key))
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntaxError(dec)
	}
	return values, nil
}

// quote quotes a client-supplied field or key name for a message, shortened.
// Names and keys are not values, but a caller may paste anything there.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// checkSurrogates refuses a body in which a string has a \u escape of one
// half of a UTF-16 surrogate pair (\ud800-\udfff) without its other half,
// like "\ud800". Such a string has no Unicode text: encoding/json would
// decode it to U+FFFD, silently storing something else than was sent. The
// message names the field, or the key in values, never the value.
func checkSurrogates(body []byte) error {
	if !bytes.Contains(body, []byte(`\u`)) || !hasLoneSurrogate(body) {
		return nil // the common case: one cheap scan
	}
	// Walk the tokens to say where the string is. Malformed JSON is left to
	// the decoding proper, which reports it by position.
	var stack []jsonFrame
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		raw := body[start:dec.InputOffset()] // the token, after any ',' ':' or space
		var top *jsonFrame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				stack = append(stack, jsonFrame{object: v == '{', expectKey: v == '{'})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].expectKey = true
				}
			}
		case string:
			isKey := top != nil && top.object && top.expectKey
			if hasLoneSurrogate(raw) {
				return loneSurrogateError(stack, isKey, v)
			}
			if isKey {
				top.key, top.expectKey = v, false
			} else if top != nil && top.object {
				top.expectKey = true
			}
		default:
			if top != nil && top.object {
				top.expectKey = true
			}
		}
	}
}

// jsonFrame is an object or array that checkSurrogates is inside.
type jsonFrame struct {
	object    bool
	key       string // in an object: the member being read
	expectKey bool   // in an object: the next string is a member name
}

// loneSurrogateError says which string of the body has an unpaired
// surrogate: a field name, a field's value, a key in values or its value.
// stack holds the enclosing objects with the member each is reading.
func loneSurrogateError(stack []jsonFrame, isKey bool, s string) error {
	const what = "has an unpaired UTF-16 surrogate escape (\\ud800-\\udfff without its other half); send the character itself or a complete pair"
	var keys []string
	for _, f := range stack {
		if f.object && !f.expectKey {
			keys = append(keys, f.key)
		}
	}
	switch {
	case isKey && len(stack) == 1:
		return errcode.New(errcode.InvalidArgument, "field name %s %s", quote(s), what)
	case isKey:
		return errcode.New(errcode.InvalidArgument, "key %s in %s %s", quote(s), quote(stack[0].key), what)
	case len(keys) == 1:
		return errcode.New(errcode.InvalidArgument, "field %s %s", quote(keys[0]), what)
	case len(keys) > 1:
		return errcode.New(errcode.InvalidArgument, "value of key %s in %s %s", quote(keys[len(keys)-1]), quote(keys[0]), what)
	default:
		return errcode.New(errcode.InvalidArgument, "request body %s", what)
	}
}

// hasLoneSurrogate reports whether JSON text b has a \u escape of a surrogate
// half that is not part of a high-low pair of escapes.
func hasLoneSurrogate(b []byte) bool {
	pendingHigh := false // the previous escape was a high surrogate
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			if pendingHigh {
				return true
			}
			continue
		}
		if i+1 >= len(b) {
			return pendingHigh
		}
		if b[i+1] != 'u' || i+6 > len(b) {
			if pendingHigh {
				return true
			}
			i++ // skip the escaped character, which may be a backslash
			continue
		}
		r, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 16)
		i += 5
		if err != nil {
			continue // malformed: the decoder reports it
		}
		switch {
		case r >= 0xd800 && r <= 0xdbff:
			if pendingHigh {
				return true
			}
			pendingHigh = true
		case r >= 0xdc00 && r <= 0xdfff:
			if !pendingHigh {
				return true
			}
			pendingHigh = false
		default:
			if pendingHigh {
				return true
			}
		}
	}
	return pendingHigh
}
