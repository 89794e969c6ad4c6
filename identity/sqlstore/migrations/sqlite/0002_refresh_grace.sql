-- Refresh grace records (identity.RefreshGraceStore): the claim of the one caller that
-- spends a rotating refresh token at the IdP, then its sealed answer for the grace period.
-- token_hash is derived from a SHA-256 of the refresh token, never the token; answer is
-- AES-GCM sealed under a key derived from auth.session.secret (NULL while pending).
-- expires_at is Unix microseconds.
CREATE TABLE IF NOT EXISTS refresh_grace (
    token_hash TEXT PRIMARY KEY,
    answer     BLOB,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS refresh_grace_expires_at ON refresh_grace (expires_at);
