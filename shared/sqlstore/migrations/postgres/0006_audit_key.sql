-- The audit chain's key, for deployments whose store key is held by a key
-- service (KMS) and so gives no material to derive it from: a random key
-- made by the first process that opens the log, wrapped by the store key
-- (package audit, LoadKey). One row, id 1, inserted once and never changed;
-- of two processes racing to insert it, the primary key makes one lose, and
-- it reads the winner's. created_us is Unix microseconds.
CREATE TABLE audit_key (
    id         smallint NOT NULL PRIMARY KEY CHECK (id = 1),
    wrapped    bytea    NOT NULL,
    created_us bigint   NOT NULL
);
