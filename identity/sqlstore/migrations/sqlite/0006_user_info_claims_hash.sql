-- SHA-256 (hex) of user_info as identity.UserInfoJSON encodes it, so that a
-- /refresh whose claims did not change writes nothing (NULL = written before
-- this column: the next token rewrites the row once).
ALTER TABLE user_info ADD COLUMN claims_hash TEXT;
-- A process still on an older version rewrites user_info but not
-- claims_hash. During an upgrade that would leave a hash that no longer
-- matches the claims, and a newer process issuing the claims the hash
-- names would skip its write: the trigger clears the hash instead.
CREATE TRIGGER IF NOT EXISTS user_info_clear_stale_hash AFTER UPDATE OF user_info ON user_info
    WHEN NEW.claims_hash IS OLD.claims_hash AND NEW.user_info IS NOT OLD.user_info
    BEGIN UPDATE user_info SET claims_hash = NULL WHERE user_entity_ref = NEW.user_entity_ref; END;
