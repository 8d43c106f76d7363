-- Compliance domains (docs/portal.md, "Compliance domains"): the roll-up of
-- each domain within each asset group ('' = everything), replaced by every
-- scan, and one history row per day, group and domain.
CREATE TABLE domain_current (
    grp     TEXT NOT NULL,
    domain  TEXT NOT NULL,
    scan_id BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (grp, domain)
);

CREATE TABLE domain_history (
    day        TEXT NOT NULL,
    grp        TEXT NOT NULL,
    domain     TEXT NOT NULL,
    compliance BIGINT,                   -- NULL: unknown
    assets     BIGINT NOT NULL,
    open       BIGINT NOT NULL,
    exempt     BIGINT NOT NULL,
    unknown    BIGINT NOT NULL,
    PRIMARY KEY (day, grp, domain)
);

-- Dashboards users arrange (docs/portal.md, "Dashboards"): an ordered list
-- of widgets, owned by the principal that made it, shared by its link.
CREATE TABLE dashboards (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    owner      TEXT NOT NULL,         -- the principal's id
    owner_name TEXT NOT NULL,
    name       TEXT NOT NULL,
    widgets    TEXT NOT NULL,         -- JSON: [{"kind": …, "group": …, "domain": …}]
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX dashboards_by_owner ON dashboards (owner, id);
