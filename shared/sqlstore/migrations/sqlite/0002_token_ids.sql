-- Token ids: "tok_" and the first 16 hex digits of the hash (identity.TokenID),
-- so that admins can list and revoke tokens without ever seeing one. Tokens
-- saved before this migration get theirs from their stored hash.
ALTER TABLE tokens ADD COLUMN id TEXT NOT NULL DEFAULT '';
UPDATE tokens SET id = 'tok_' || lower(substr(hex(hash), 1, 16));
CREATE UNIQUE INDEX tokens_id ON tokens (id);
CREATE INDEX tokens_by_created ON tokens (created, id);
