-- The audit chain's key, for deployments whose store key is held by a key
-- service (KMS) and so gives no material to derive it from: a random key
-- made by the first process that opens the log, wrapped by the store key
-- (package audit, LoadKey). One row, id 1, inserted once and never changed;
-- of two processes racing to insert it, the primary key makes one lose, and
-- it reads the winner's. created_us is Unix microseconds. (MySQL before 8.0.16
-- parses CHECK and ignores it; the code only ever writes id 1.)
CREATE TABLE audit_key (
    id         SMALLINT NOT NULL PRIMARY KEY CHECK (id = 1),
    wrapped    BLOB     NOT NULL,
    created_us BIGINT   NOT NULL
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
