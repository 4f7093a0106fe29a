-- The audit chain (package audit): one row per record, seq 1, 2, 3, ...
-- with no gaps; mac chains each row to the one before. Rows are only ever
-- inserted (the primary key makes two writers race for a sequence, and one
-- loses). Never a value, a token or a body. time_us is Unix microseconds.
CREATE TABLE audit_log (
    seq            INTEGER NOT NULL PRIMARY KEY,
    time_us        INTEGER NOT NULL,
    request_id     TEXT    NOT NULL,
    principal      TEXT    NOT NULL,
    principal_role TEXT    NOT NULL,
    operation      TEXT    NOT NULL,
    phase          TEXT    NOT NULL,
    secret_id      TEXT    NOT NULL,
    secret_name    TEXT    NOT NULL,
    secret_version INTEGER NOT NULL,
    token_id       TEXT    NOT NULL,
    token_user     TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    client_addr    TEXT    NOT NULL,
    user_agent     TEXT    NOT NULL,
    mac            TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_log_by_principal ON audit_log (principal, seq);
CREATE INDEX audit_log_by_secret_id ON audit_log (secret_id, seq);
CREATE INDEX audit_log_by_secret_name ON audit_log (secret_name, seq);
CREATE INDEX audit_log_by_time ON audit_log (time_us);
