-- The RFC 8707 resource a refresh session's access tokens are for, so that
-- a refreshed access token keeps the audience of the first ('' = none).
ALTER TABLE oauth_refresh_sessions ADD COLUMN resource TEXT NOT NULL DEFAULT '';
-- The session's previous rotation, for its grace period: the hash of the
-- secret it replaced ('' = none yet), that rotation's sealed answer, and
-- the end of the period (NULL = none). A concurrent or retried
-- presentation of prev_hash before prev_until replays prev_answer.
ALTER TABLE oauth_refresh_sessions ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth_refresh_sessions ADD COLUMN prev_answer BYTEA;
ALTER TABLE oauth_refresh_sessions ADD COLUMN prev_until TIMESTAMPTZ;
