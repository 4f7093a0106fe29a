-- History (issue 11): the recovery window and past versions.
--
-- deleted is when a secret was moved into the recovery window (NULL while
-- it is live), purge_after when it may be destroyed (NULL when not set);
-- "change" is the JSON of the secret.Change that made the current version
-- ('' for rows from before this migration: an empty change). A deleted
-- secret holds no name, so the uniqueness indexes cover live rows only.
ALTER TABLE secrets ADD COLUMN deleted INTEGER;
ALTER TABLE secrets ADD COLUMN purge_after INTEGER;
ALTER TABLE secrets ADD COLUMN "change" TEXT NOT NULL DEFAULT '';

DROP INDEX secrets_public_name;
DROP INDEX secrets_private_owner_name;
CREATE UNIQUE INDEX secrets_public_name ON secrets (name) WHERE private = 0 AND deleted IS NULL;
CREATE UNIQUE INDEX secrets_private_owner_name ON secrets (owner, name) WHERE private = 1 AND deleted IS NULL;

-- The few deleted rows, for listing them and for finding expired ones
-- without walking the live ones.
CREATE INDEX secrets_deleted ON secrets (deleted) WHERE deleted IS NOT NULL;

-- Past versions: a copy of the secrets row a kept update replaced, sealed
-- values unchanged (the seal's additional data binds id and version, so
-- the blob opens for this version only). The current version stays in
-- secrets; a purge deletes both.
CREATE TABLE secret_versions (
    id          TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    private     INTEGER NOT NULL,
    owner       TEXT    NOT NULL,
    keys        TEXT    NOT NULL,
    sealed      BLOB,
    values_ref  TEXT    NOT NULL DEFAULT '',
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    origin      TEXT    NOT NULL DEFAULT '',
    change_key  TEXT    NOT NULL DEFAULT '',
    deleted     INTEGER,
    purge_after INTEGER,
    "change"    TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (id, version)
) STRICT;
