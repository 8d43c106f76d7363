-- Pac server store, first version. Portable SQL: the same statements run on
-- SQLite and PostgreSQL (BIGINT times in Unix seconds, TEXT JSON bodies,
-- ids assigned by the application, upserts with ON CONFLICT).

CREATE TABLE resources (
    rkey        TEXT PRIMARY KEY,       -- type|account|region|id
    rtype       TEXT NOT NULL,
    rid         TEXT NOT NULL,
    account     TEXT NOT NULL,
    region      TEXT NOT NULL,
    source      TEXT NOT NULL,
    doc         TEXT NOT NULL,          -- the document as last collected
    hash        TEXT NOT NULL,          -- of doc, to find changes cheaply
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,        -- last scan that saw it (or changed it)
    changed_at  BIGINT NOT NULL,
    deleted_at  BIGINT                  -- gone from its source
);
CREATE INDEX resources_rid ON resources (rid);
CREATE INDEX resources_rtype ON resources (rtype);
CREATE INDEX resources_source ON resources (source);

CREATE TABLE scans (
    id           BIGINT PRIMARY KEY,
    source       TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,          -- start, schedule, api
    status       TEXT NOT NULL,          -- running, completed, partial, failed, interrupted
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    resources    BIGINT NOT NULL DEFAULT 0,
    changed      BIGINT NOT NULL DEFAULT 0,
    removed      BIGINT NOT NULL DEFAULT 0,
    results      BIGINT NOT NULL DEFAULT 0,
    opened       BIGINT NOT NULL DEFAULT 0,
    closed       BIGINT NOT NULL DEFAULT 0,
    reopened     BIGINT NOT NULL DEFAULT 0,
    exempted     BIGINT NOT NULL DEFAULT 0,
    unknown      BIGINT NOT NULL DEFAULT 0,
    source_errors TEXT NOT NULL DEFAULT '[]',  -- failed scopes
    ingest_errors TEXT NOT NULL DEFAULT '[]',  -- malformed documents
    ingest_error_count BIGINT NOT NULL DEFAULT 0,
    message      TEXT
);

CREATE TABLE issues (
    id           BIGINT PRIMARY KEY,
    rule         TEXT NOT NULL,
    policy       TEXT NOT NULL,
    rkey         TEXT NOT NULL,
    rid          TEXT NOT NULL,
    rtype        TEXT NOT NULL,
    account      TEXT NOT NULL,
    region       TEXT NOT NULL,
    severity     TEXT NOT NULL,
    category     TEXT NOT NULL,
    status       TEXT NOT NULL,          -- open, exempted, closed
    message      TEXT NOT NULL,
    explanation  TEXT,                   -- JSON
    exception    TEXT,                   -- the exception exempting it
    first_seen   BIGINT NOT NULL,
    last_opened  BIGINT NOT NULL,
    closed_at    BIGINT,
    close_reason TEXT,                   -- passed, resource_removed, rule_removed
    times_opened BIGINT NOT NULL DEFAULT 1,
    UNIQUE (rule, rkey)
);
CREATE INDEX issues_status ON issues (status);
CREATE INDEX issues_policy ON issues (policy, status);
CREATE INDEX issues_rkey ON issues (rkey);

CREATE TABLE issue_events (
    id        BIGINT PRIMARY KEY,
    issue_id  BIGINT NOT NULL,
    scan_id   BIGINT,
    at        BIGINT NOT NULL,
    kind      TEXT NOT NULL,             -- opened, closed, reopened, exempted, unexempted
    detail    TEXT NOT NULL
);
CREATE INDEX issue_events_issue ON issue_events (issue_id);

CREATE TABLE exceptions (
    name        TEXT PRIMARY KEY,
    targets     TEXT NOT NULL,           -- JSON list of policy or policy.rule
    resources   TEXT NOT NULL,           -- JSON list of ids
    condition   TEXT,                    -- Pac expression (sticky)
    expires     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    deleted_at  BIGINT
);

CREATE TABLE asset_groups (
    name        TEXT PRIMARY KEY,
    title       TEXT,
    members     TEXT NOT NULL,           -- JSON list of {type, where}
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE group_members (
    grp   TEXT NOT NULL,
    rkey  TEXT NOT NULL,
    PRIMARY KEY (grp, rkey)
);
CREATE INDEX group_members_rkey ON group_members (rkey);

CREATE TABLE autofix_jobs (
    id          BIGINT PRIMARY KEY,
    issue_id    BIGINT NOT NULL,
    rule        TEXT NOT NULL,
    policy      TEXT NOT NULL,
    rkey        TEXT NOT NULL,
    action      TEXT NOT NULL,
    args        TEXT NOT NULL,           -- JSON object
    notify      TEXT NOT NULL,           -- JSON list of recipients
    status      TEXT NOT NULL,           -- waiting, done, failed, cancelled, suspended, dry_run
    created_at  BIGINT NOT NULL,
    due_at      BIGINT NOT NULL,
    notified_at BIGINT,
    ran_at      BIGINT,
    result      TEXT,                    -- JSON FixOutcome or error
    reason      TEXT
);
CREATE INDEX autofix_jobs_status ON autofix_jobs (status, due_at);
CREATE INDEX autofix_jobs_issue ON autofix_jobs (issue_id);

CREATE TABLE audit_log (
    id      BIGINT PRIMARY KEY,
    at      BIGINT NOT NULL,
    job_id  BIGINT,
    kind    TEXT NOT NULL,
    detail  TEXT NOT NULL
);

-- The latest roll-up per asset group ('' = everything), as served.
CREATE TABLE compliance_current (
    grp     TEXT PRIMARY KEY,
    scan_id BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    body    TEXT NOT NULL
);

-- One row per day, group and policy ('' = overall).
CREATE TABLE compliance_history (
    day        TEXT NOT NULL,
    grp        TEXT NOT NULL,
    policy     TEXT NOT NULL,
    compliance BIGINT,                   -- NULL: unknown
    assets     BIGINT NOT NULL,
    open       BIGINT NOT NULL,
    exempt     BIGINT NOT NULL,
    unknown    BIGINT NOT NULL,
    PRIMARY KEY (day, grp, policy)
);
