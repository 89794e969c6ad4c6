-- SHA-256 (hex) of user_info as identity.UserInfoJSON encodes it, so that a
-- /refresh whose claims did not change writes nothing (NULL = written before
-- this column: the next token rewrites the row once).
ALTER TABLE user_info ADD COLUMN claims_hash TEXT;
