-- Secrets: metadata in columns, values sealed by envelope.Sealer (NULL when
-- the values live in an external value store). Text columns that are
-- compared or ordered use the "C" collation, so that ordering is bytewise
-- whatever the database's locale, as every other backend orders.
CREATE TABLE secrets (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    name       text COLLATE "C" NOT NULL,
    private    boolean NOT NULL,
    owner      text COLLATE "C" NOT NULL,
    keys       jsonb NOT NULL,               -- array of the sorted key names
    sealed     bytea,                        -- sealed values; NULL in index mode
    values_ref text NOT NULL DEFAULT '',
    version    bigint NOT NULL CHECK (version >= 1),
    created    timestamptz NOT NULL,
    updated    timestamptz NOT NULL,
    origin     text NOT NULL DEFAULT '',
    change_key text NOT NULL DEFAULT ''
);

-- Uniqueness, enforced by the database: one public secret per name, one
-- private secret per (owner, name).
CREATE UNIQUE INDEX secrets_public_name ON secrets (name) WHERE NOT private;
CREATE UNIQUE INDEX secrets_private_owner_name ON secrets (owner, name) WHERE private;

-- Keyset listing in each sort order, ties broken by id.
CREATE INDEX secrets_by_name ON secrets (name, id);
CREATE INDEX secrets_by_created ON secrets (created, id);
CREATE INDEX secrets_by_updated ON secrets (updated, id);

-- API tokens by the SHA-256 of the token; the token itself is never stored.
CREATE TABLE tokens (
    hash      bytea NOT NULL PRIMARY KEY,
    principal text NOT NULL,
    role      text NOT NULL,
    created   timestamptz NOT NULL
);
