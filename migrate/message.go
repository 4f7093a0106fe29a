package migrate

import (
	"bytes"
	"encoding/json"

	"github.com/lockwell/lockwell/shared/errcode"
)

// MessageVersion is the schema version of Message this build writes and
// reads. A consumer rejects versions it does not know (the message then goes
// to the dead-letter queue), so producers and consumers can be upgraded
// apart: add a version, deploy consumers, then producers.
const MessageVersion = 1

// Message asks for one legacy entry to be migrated as part of a job. It
// never carries values: only the job, the source (its URL, which never holds
// credentials) and the entry's legacy name.
type Message struct {
	Version int    `json:"v"`
	Job     string `json:"job"`
	Source  string `json:"source"`
	Name    string `json:"name"` // the entry's reference: legacy name, or ZenML secret id (legacy.Item.Ref)
}

// Encode returns the message's JSON.
func (m Message) Encode() []byte {
	m.Version = MessageVersion
	b, _ := json.Marshal(m)
	return b
}

// DecodeMessage parses and checks a message. Errors are invalid_argument:
// not JSON, unknown fields, an unknown version, or a missing field. Such a
// message is poison: no retry can succeed.
func DecodeMessage(body []byte) (Message, error) {
	var m Message
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, errcode.New(errcode.InvalidArgument, "migration message is not valid JSON of version %d", MessageVersion)
	}
	if m.Version != MessageVersion {
		return m, errcode.New(errcode.InvalidArgument, "migration message version %d is not supported (this build reads %d)", m.Version, MessageVersion)
	}
	if m.Job == "" || m.Source == "" || m.Name == "" {
		return m, errcode.New(errcode.InvalidArgument, "migration message needs job, source and name")
	}
	return m, nil
}
