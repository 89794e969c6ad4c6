-- Sessions ended by back-channel logout or `gatehouse sessions revoke` (identity.SessionEnd).
-- Empty strings mean "any": provider '' is every provider; sub, sid and
-- user_entity_ref '' do not constrain the match. user_entity_ref is stored lower-case.
CREATE TABLE IF NOT EXISTS session_ends (
    id              BIGSERIAL PRIMARY KEY,
    provider        TEXT NOT NULL,
    sub             TEXT NOT NULL,
    sid             TEXT NOT NULL,
    user_entity_ref TEXT NOT NULL,
    ended_before    TIMESTAMPTZ NOT NULL,
    reason          TEXT NOT NULL,
    source          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS session_ends_sub ON session_ends (sub);
CREATE INDEX IF NOT EXISTS session_ends_user_entity_ref ON session_ends (user_entity_ref);
