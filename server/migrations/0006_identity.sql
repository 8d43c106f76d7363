-- Identity and access (docs/auth.md): sign-in sessions, the short-lived
-- state of a sign-in in progress, and API tokens. Secrets are never stored:
-- a session id or a token is kept as the hex SHA-256 of what the client
-- holds, so a copy of the database holds no usable credential.

-- A signed-in browser: the cookie holds 32 random bytes, the row their hash.
CREATE TABLE sessions (
    id_hash         TEXT PRIMARY KEY,
    principal       TEXT NOT NULL,           -- oidc:<issuer>#<sub>
    display_name    TEXT NOT NULL,           -- preferred_username, email, name or sub
    claims          TEXT NOT NULL,           -- JSON {groups, roles, email}: grants are resolved from these
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,         -- moved forward by use
    expires_at      BIGINT NOT NULL          -- absolute: never moved
);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- A sign-in between /auth/login and /auth/callback: bound to the browser
-- by the pac_login cookie (its hash is the key), consumed by the callback.
CREATE TABLE login_states (
    binding_hash  TEXT PRIMARY KEY,
    state_hash    TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    return_to     TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);

-- API tokens: `pac_` + 43 characters; only the hash is kept.
CREATE TABLE api_tokens (
    id           BIGINT PRIMARY KEY,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,              -- the first characters, to recognise a token in lists
    role         TEXT NOT NULL,              -- viewer, requester, approver, admin
    groups       TEXT NOT NULL,              -- JSON list of asset groups; ["*"] = all
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    revoked_by   TEXT,
    bootstrap    BIGINT NOT NULL DEFAULT 0
);
