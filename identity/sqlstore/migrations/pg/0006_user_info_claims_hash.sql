-- SHA-256 (hex) of user_info as identity.UserInfoJSON encodes it, so that a
-- /refresh whose claims did not change writes nothing (NULL = written before
-- this column: the next token rewrites the row once).
ALTER TABLE user_info ADD COLUMN claims_hash TEXT;
-- A replica still on an older version rewrites user_info but not
-- claims_hash. During a rolling upgrade that would leave a hash that no
-- longer matches the claims, and a newer replica issuing the claims the
-- hash names would skip its write: the trigger clears the hash instead.
CREATE OR REPLACE FUNCTION user_info_clear_stale_hash() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.claims_hash IS NOT DISTINCT FROM OLD.claims_hash AND NEW.user_info IS DISTINCT FROM OLD.user_info THEN NEW.claims_hash := NULL; END IF; RETURN NEW; END
$$;
CREATE TRIGGER user_info_clear_stale_hash BEFORE UPDATE ON user_info
    FOR EACH ROW EXECUTE FUNCTION user_info_clear_stale_hash();
