-- Secrets: metadata in columns, values sealed by envelope.Sealer (NULL when
-- the values live in an external value store). InnoDB, utf8mb4 with the
-- binary collation utf8mb4_bin: names compare and order by code point,
-- which for UTF-8 is bytewise, case-sensitive, as every other backend
-- orders. (utf8mb4_bin ignores trailing spaces, which no valid name or
-- principal has.) Times are DATETIME(6), UTC, to the microsecond as
-- secret.Now makes them. The connection runs with ANSI_QUOTES, so "keys", a
-- reserved word in MySQL, is quoted as in the other dialects.
--
-- MySQL has no partial indexes. The uniqueness rules use two generated
-- columns instead: public_name is the name of a public secret and NULL for
-- a private one, private_owner the owner of a private secret and NULL for a
-- public one. NULLs never collide in a unique index, so "one public secret
-- per name" is a unique index on public_name and "one private secret per
-- (owner, name)" one on (private_owner, name).
CREATE TABLE secrets (
    id            VARCHAR(36)  NOT NULL PRIMARY KEY,
    name          VARCHAR(255) NOT NULL,
    private       BOOLEAN      NOT NULL,
    owner         VARCHAR(255) NOT NULL,
    "keys"        JSON         NOT NULL,   -- array of the sorted key names
    sealed        MEDIUMBLOB,              -- sealed values; NULL in index mode
    values_ref    TEXT         NOT NULL DEFAULT (''),
    version       BIGINT       NOT NULL CHECK (version >= 1),
    created       DATETIME(6)  NOT NULL,
    updated       DATETIME(6)  NOT NULL,
    origin        TEXT         NOT NULL DEFAULT (''),
    change_key    TEXT         NOT NULL DEFAULT (''),
    public_name   VARCHAR(255) AS (CASE WHEN private THEN NULL ELSE name END) VIRTUAL,
    private_owner VARCHAR(255) AS (CASE WHEN private THEN owner ELSE NULL END) VIRTUAL,
    UNIQUE INDEX secrets_public_name (public_name),
    UNIQUE INDEX secrets_private_owner_name (private_owner, name),
    -- Keyset listing in each sort order, ties broken by id.
    INDEX secrets_by_name (name, id),
    INDEX secrets_by_created (created, id),
    INDEX secrets_by_updated (updated, id)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

-- API tokens by the SHA-256 of the token; the token itself is never stored.
CREATE TABLE tokens (
    hash      VARBINARY(32) NOT NULL PRIMARY KEY,
    principal VARCHAR(255)  NOT NULL,
    role      VARCHAR(32)   NOT NULL,
    created   DATETIME(6)   NOT NULL
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
