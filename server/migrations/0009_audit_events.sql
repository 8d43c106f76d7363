-- The audit log (docs/auth.md, "Audit log"): every state-changing request,
-- every sign-in and every refused credential or authorization, with who,
-- when, from where and what changed. Append-only: the triggers refuse to
-- change or remove a row, whoever asks.
CREATE TABLE audit_events (
    id      INTEGER PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,           -- principal id (token:3, oidc:…#sub, local) or `anonymous`
    ip      TEXT,                    -- the TCP peer
    method  TEXT NOT NULL,
    path    TEXT NOT NULL,           -- without the query
    status  INTEGER NOT NULL,        -- the answer's
    target  TEXT,                    -- what was acted on, when a handler says
    before  TEXT,                    -- JSON, when a handler says
    after   TEXT                     -- JSON, when a handler says
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor, id);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
