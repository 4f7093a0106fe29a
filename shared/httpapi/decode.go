package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
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
// malformed JSON and data after the object are invalid_argument. No error
// message quotes the body: they give what is wrong and where.
func decodeObject(body []byte, field func(name string, dec *json.Decoder) error) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errcode.New(errcode.InvalidArgument, "request body is empty; send a JSON object")
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
