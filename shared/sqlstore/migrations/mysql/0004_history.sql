-- History (issue 11): the recovery window and past versions.
--
-- deleted is when a secret was moved into the recovery window (NULL while
-- it is live), purge_after when it may be destroyed (NULL when not set);
-- "change" (a reserved word, quoted) is the JSON of the secret.Change that
-- made the current version ('' for rows from before this migration: an
-- empty change). A deleted secret holds no name: the generated columns of
-- the uniqueness rules become NULL for deleted rows. MySQL cannot change
-- an indexed generated column in place, so they are dropped and made anew.
ALTER TABLE secrets
    ADD COLUMN deleted DATETIME(6) NULL,
    ADD COLUMN purge_after DATETIME(6) NULL,
    ADD COLUMN "change" TEXT NOT NULL DEFAULT ('');
ALTER TABLE secrets
    DROP INDEX secrets_public_name,
    DROP INDEX secrets_private_owner_name,
    DROP COLUMN public_name,
    DROP COLUMN private_owner;
ALTER TABLE secrets
    ADD COLUMN public_name VARCHAR(255) AS (CASE WHEN private OR deleted IS NOT NULL THEN NULL ELSE name END) VIRTUAL,
    ADD COLUMN private_owner VARCHAR(255) AS (CASE WHEN private AND deleted IS NULL THEN owner ELSE NULL END) VIRTUAL,
    ADD UNIQUE INDEX secrets_public_name (public_name),
    ADD UNIQUE INDEX secrets_private_owner_name (private_owner, name),
    -- The few deleted rows (live ones are NULL), for listing them and for
    -- finding expired ones.
    ADD INDEX secrets_deleted (deleted);

-- Past versions: a copy of the secrets row a kept update replaced, sealed
-- values unchanged (the seal's additional data binds id and version, so
-- the blob opens for this version only). The current version stays in
-- secrets; a purge deletes both.
CREATE TABLE secret_versions (
    id          VARCHAR(36)  NOT NULL,
    version     BIGINT       NOT NULL,
    name        VARCHAR(255) NOT NULL,
    private     BOOLEAN      NOT NULL,
    owner       VARCHAR(255) NOT NULL,
    "keys"      JSON         NOT NULL,
    sealed      MEDIUMBLOB,
    values_ref  TEXT         NOT NULL DEFAULT (''),
    created     DATETIME(6)  NOT NULL,
    updated     DATETIME(6)  NOT NULL,
    origin      TEXT         NOT NULL DEFAULT (''),
    change_key  TEXT         NOT NULL DEFAULT (''),
    deleted     DATETIME(6)  NULL,
    purge_after DATETIME(6)  NULL,
    "change"    TEXT         NOT NULL DEFAULT (''),
    PRIMARY KEY (id, version)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
