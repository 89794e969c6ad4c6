-- The OAuth authorization server's state (identity.OAuthStore). Secrets are
-- never stored: secret_hash and code_hash are the hex SHA-256 of the secret
-- (identity.HashSecret). Timestamps are Unix microseconds: SQLite has no timestamp type.
-- A zero expires_at on a client (year 1) means the registration never lapses.
CREATE TABLE IF NOT EXISTS oauth_clients (
    client_id      TEXT PRIMARY KEY,
    secret_hash    TEXT NOT NULL,
    client_name    TEXT NOT NULL,
    redirect_uris  TEXT NOT NULL,
    grant_types    TEXT NOT NULL,
    response_types TEXT NOT NULL,
    scope          TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    last_used_at   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS oauth_clients_expires_at ON oauth_clients (expires_at);
-- Authorization sessions: status moves from pending to approved or rejected once.
CREATE TABLE IF NOT EXISTS oauth_auth_sessions (
    id                    TEXT PRIMARY KEY,
    client_id             TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    code_challenge        TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    state                 TEXT NOT NULL,
    nonce                 TEXT NOT NULL,
    resource              TEXT NOT NULL,
    status                TEXT NOT NULL,
    user_entity_ref       TEXT NOT NULL,
    expires_at            INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS oauth_auth_sessions_expires_at ON oauth_auth_sessions (expires_at);
-- Authorization codes by hash, single use through used (0 or 1).
CREATE TABLE IF NOT EXISTS oauth_auth_codes (
    code_hash       TEXT PRIMARY KEY,
    session_id      TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    user_entity_ref TEXT NOT NULL,
    expires_at      INTEGER NOT NULL,
    used            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS oauth_auth_codes_expires_at ON oauth_auth_codes (expires_at);
-- Offline sessions: id is the refresh token's prefix and its rotation family.
CREATE TABLE IF NOT EXISTS oauth_refresh_sessions (
    id              TEXT PRIMARY KEY,
    user_entity_ref TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    scope           TEXT NOT NULL,
    secret_hash     TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS oauth_refresh_sessions_user ON oauth_refresh_sessions (user_entity_ref, client_id);
CREATE INDEX IF NOT EXISTS oauth_refresh_sessions_idle_expires_at ON oauth_refresh_sessions (idle_expires_at);
CREATE INDEX IF NOT EXISTS oauth_refresh_sessions_expires_at ON oauth_refresh_sessions (expires_at);
-- Secret hashes that rotation replaced, to detect their reuse; deleted with their session.
CREATE TABLE IF NOT EXISTS oauth_refresh_rotated (
    secret_hash TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS oauth_refresh_rotated_session ON oauth_refresh_rotated (session_id);
