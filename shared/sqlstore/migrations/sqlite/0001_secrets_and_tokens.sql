-- Secrets: metadata in columns, values sealed by envelope.Sealer (NULL when
-- the values live in an external value store). Times are microseconds since
-- the Unix epoch, UTC: integers sort and round-trip exactly. Text compares
-- with the BINARY collation (bytewise), as every other backend orders.
CREATE TABLE secrets (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    private    INTEGER NOT NULL CHECK (private IN (0, 1)),
    owner      TEXT    NOT NULL,
    keys       TEXT    NOT NULL,            -- JSON array of the sorted key names
    sealed     BLOB,                        -- sealed values; NULL in index mode
    values_ref TEXT    NOT NULL DEFAULT '',
    version    INTEGER NOT NULL CHECK (version >= 1),
    created    INTEGER NOT NULL,
    updated    INTEGER NOT NULL,
    origin     TEXT    NOT NULL DEFAULT '',
    change_key TEXT    NOT NULL DEFAULT ''
) STRICT;

-- Uniqueness, enforced by the database: one public secret per name, one
-- private secret per (owner, name).
CREATE UNIQUE INDEX secrets_public_name ON secrets (name) WHERE private = 0;
CREATE UNIQUE INDEX secrets_private_owner_name ON secrets (owner, name) WHERE private = 1;

-- Keyset listing in each sort order, ties broken by id.
CREATE INDEX secrets_by_name ON secrets (name, id);
CREATE INDEX secrets_by_created ON secrets (created, id);
CREATE INDEX secrets_by_updated ON secrets (updated, id);

-- API tokens by the SHA-256 of the token; the token itself is never stored.
CREATE TABLE tokens (
    hash      BLOB    NOT NULL PRIMARY KEY,
    principal TEXT    NOT NULL,
    role      TEXT    NOT NULL,
    created   INTEGER NOT NULL
) STRICT;
