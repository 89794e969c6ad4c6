-- The RFC 8707 resource a refresh session's access tokens are for, so that
-- a refreshed access token keeps the audience of the first ('' = none).
ALTER TABLE oauth_refresh_sessions ADD COLUMN resource TEXT NOT NULL DEFAULT '';
