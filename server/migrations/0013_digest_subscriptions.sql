-- E-mail digests users subscribe to themselves, from the portal or the API
-- (docs/portal.md, "E-mail digests"), beside the `[[digest]]` tables of the
-- configuration; and the addresses that unsubscribed from one of those.
CREATE TABLE digest_subscriptions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    principal  TEXT NOT NULL,      -- the user's principal id (oidc:<issuer>#<sub>)
    user_name  TEXT NOT NULL,
    address    TEXT NOT NULL,      -- the provider's `email` claim
    claims     TEXT NOT NULL,      -- JSON, as of the last sign-in: grants are resolved from these at each send
    every      TEXT NOT NULL,      -- `daily` or `weekly`
    hour       BIGINT NOT NULL,    -- 0..23, UTC
    grp        TEXT,               -- the asset group, inside the user's scope
    created_at BIGINT NOT NULL
);
CREATE INDEX digest_subscriptions_by_principal ON digest_subscriptions (principal, id);

CREATE TABLE digest_optouts (
    digest  TEXT NOT NULL,         -- a `[[digest]]` table's name
    address TEXT NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (digest, address)
);
