-- When each source was last scanned completely. A complete scan used to move
-- `resources.last_seen` on every row of its source (a rewrite of the whole
-- table per scan); it now writes one row here, and a current resource's
-- last_seen is the later of its own column and its source's `seen_at`.
CREATE TABLE source_seen (
    source  TEXT PRIMARY KEY,
    seen_at BIGINT NOT NULL
);
