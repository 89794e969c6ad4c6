-- Public halves of every replica's signing keys (identity.PublicKey). created_at is
-- Unix microseconds: SQLite has no timestamp type.
CREATE TABLE IF NOT EXISTS signing_keys (
    kid        TEXT PRIMARY KEY,
    jwk        TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS signing_keys_created_at ON signing_keys (created_at);

-- Claims of the last token issued to each user, for /v1/userinfo (identity.UserInfoStore).
CREATE TABLE IF NOT EXISTS user_info (
    user_entity_ref TEXT PRIMARY KEY,
    user_info       TEXT NOT NULL,
    updated_at      INTEGER NOT NULL
);
