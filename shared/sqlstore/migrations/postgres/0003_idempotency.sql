-- Idempotency records: one per (principal, Idempotency-Key), written in the
-- same transaction as the create or update it describes, and kept until
-- expires (store.DefaultIdempotencyRetention after the write). key is a hash
-- of the principal and the key, request a keyed MAC of the request body,
-- result the JSON metadata of the first result: never a value. Expired rows
-- are deleted by the next write that stores a record.
CREATE TABLE idempotency (
    key       text COLLATE "C" NOT NULL PRIMARY KEY,
    request   text NOT NULL,
    operation text NOT NULL,
    result    text NOT NULL,
    created   timestamptz NOT NULL,
    expires   timestamptz NOT NULL
);
CREATE INDEX idempotency_by_expires ON idempotency (expires);
