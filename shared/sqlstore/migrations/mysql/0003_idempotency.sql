-- Idempotency records: one per (principal, Idempotency-Key), written in the
-- same transaction as the create or update it describes, and kept until
-- expires (store.DefaultIdempotencyRetention after the write). key is a hash
-- of the principal and the key, request a keyed MAC of the request body,
-- result the JSON metadata of the first result: never a value. Expired rows
-- are deleted by the next write that stores a record. "key" is a reserved
-- word in MySQL (the connection runs with ANSI_QUOTES); result is MEDIUMTEXT
-- because the metadata lists up to 1,000 key names, more than TEXT holds.
CREATE TABLE idempotency (
    "key"     VARCHAR(255) NOT NULL PRIMARY KEY,
    request   VARCHAR(255) NOT NULL,
    operation VARCHAR(32)  NOT NULL,
    result    MEDIUMTEXT   NOT NULL,
    created   DATETIME(6)  NOT NULL,
    expires   DATETIME(6)  NOT NULL,
    INDEX idempotency_by_expires (expires)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
