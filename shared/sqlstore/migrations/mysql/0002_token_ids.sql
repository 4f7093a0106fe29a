-- Token ids: "tok_" and the first 16 hex digits of the hash (identity.TokenID),
-- so that admins can list and revoke tokens without ever seeing one. Tokens
-- saved before this migration get theirs from their stored hash.
ALTER TABLE tokens ADD COLUMN id VARCHAR(64) NOT NULL DEFAULT '';
UPDATE tokens SET id = CONCAT('tok_', LOWER(SUBSTR(HEX(hash), 1, 16)));
ALTER TABLE tokens ADD UNIQUE INDEX tokens_id (id), ADD INDEX tokens_by_created (created, id);
