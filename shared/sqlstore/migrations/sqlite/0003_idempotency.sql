-- Idempotency records: one per (principal, Idempotency-Key), written in the
-- same transaction as the create or update it describes, and kept until
-- expires (store.DefaultIdempotencyRetention after the write). key is a hash
-- of the principal and the key, request a keyed MAC of the request body,
-- result the JSON metadata of the first result: never a value. Expired rows
-- are deleted by the next write that stores a record.
CREATE TABLE idempotency (
    key       TEXT    NOT NULL PRIMARY KEY,
    request   TEXT    NOT NULL,
    operation TEXT    NOT NULL,
    result    TEXT    NOT NULL,
    created   INTEGER NOT NULL,
    expires   INTEGER NOT NULL
) STRICT;
CREATE INDEX idempotency_by_expires ON idempotency (expires);
