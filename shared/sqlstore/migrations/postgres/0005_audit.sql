-- The audit chain (package audit): one row per record, seq 1, 2, 3, ...
-- with no gaps; mac chains each row to the one before. Rows are only ever
-- inserted (the primary key makes two writers race for a sequence, and one
-- loses). Never a value, a token or a body. time_us is Unix microseconds.
CREATE TABLE audit_log (
    seq            bigint NOT NULL PRIMARY KEY,
    time_us        bigint NOT NULL,
    request_id     text COLLATE "C" NOT NULL,
    principal      text COLLATE "C" NOT NULL,
    principal_role text COLLATE "C" NOT NULL,
    operation      text COLLATE "C" NOT NULL,
    phase          text COLLATE "C" NOT NULL,
    secret_id      text COLLATE "C" NOT NULL,
    secret_name    text COLLATE "C" NOT NULL,
    secret_version bigint NOT NULL,
    token_id       text COLLATE "C" NOT NULL,
    token_user     text COLLATE "C" NOT NULL,
    outcome        text COLLATE "C" NOT NULL,
    client_addr    text COLLATE "C" NOT NULL,
    user_agent     text COLLATE "C" NOT NULL,
    mac            text COLLATE "C" NOT NULL
);
CREATE INDEX audit_log_by_principal ON audit_log (principal, seq);
CREATE INDEX audit_log_by_secret_id ON audit_log (secret_id, seq);
CREATE INDEX audit_log_by_secret_name ON audit_log (secret_name, seq);
CREATE INDEX audit_log_by_time ON audit_log (time_us);
