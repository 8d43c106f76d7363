-- Self-service exception requests (docs/auth.md, "Exception requests"): a
-- requester asks, an approver of the group decides; an approved request
-- becomes an API exception (`exceptions`) confined to the same group.
CREATE TABLE exception_requests (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,           -- the exception's name once approved
    grp          TEXT,                    -- NULL: every group (a requester on *)
    targets      TEXT NOT NULL,           -- JSON list of policy or policy.rule
    resources    TEXT NOT NULL,           -- JSON list of ids
    condition    TEXT,                    -- Pac expression (sticky)
    expires      TEXT NOT NULL,
    reason       TEXT NOT NULL,
    requested_by TEXT NOT NULL,           -- principal id
    requested_at BIGINT NOT NULL,
    status       TEXT NOT NULL,           -- pending, approved, rejected
    decided_by   TEXT,
    decided_at   BIGINT,
    comment      TEXT
);
CREATE INDEX exception_requests_status ON exception_requests (status, id);

-- Who approved an exception made from a request (its `created_by` is the
-- requester, who owns it).
ALTER TABLE exceptions ADD COLUMN approved_by TEXT;
