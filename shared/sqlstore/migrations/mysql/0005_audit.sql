-- The audit chain (package audit): one row per record, seq 1, 2, 3, ...
-- with no gaps; mac chains each row to the one before. Rows are only ever
-- inserted (the primary key makes two writers race for a sequence, and one
-- loses). Never a value, a token or a body. time_us is Unix microseconds.
-- Fields are at most 255 bytes (package audit cuts longer ones).
CREATE TABLE audit_log (
    seq            BIGINT       NOT NULL PRIMARY KEY,
    time_us        BIGINT       NOT NULL,
    request_id     VARCHAR(255) NOT NULL,
    principal      VARCHAR(255) NOT NULL,
    principal_role VARCHAR(255) NOT NULL,
    operation      VARCHAR(255) NOT NULL,
    phase          VARCHAR(255) NOT NULL,
    secret_id      VARCHAR(255) NOT NULL,
    secret_name    VARCHAR(255) NOT NULL,
    secret_version BIGINT       NOT NULL,
    token_id       VARCHAR(255) NOT NULL,
    token_user     VARCHAR(255) NOT NULL,
    outcome        VARCHAR(255) NOT NULL,
    client_addr    VARCHAR(255) NOT NULL,
    user_agent     VARCHAR(255) NOT NULL,
    mac            VARCHAR(255) NOT NULL,
    INDEX audit_log_by_principal (principal, seq),
    INDEX audit_log_by_secret_id (secret_id, seq),
    INDEX audit_log_by_secret_name (secret_name, seq),
    INDEX audit_log_by_time (time_us)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
