-- Safe reads (a failed or suspect read of a source changes nothing of it),
-- real scan durations, and a specified change-detection hash.

-- How long the scan took (a monotonic clock; `finished_at` is in seconds).
ALTER TABLE scans ADD COLUMN duration_ms BIGINT;
-- A `suspect` scan: how many resources its read would have removed.
ALTER TABLE scans ADD COLUMN held_removals BIGINT;
-- When a `suspect` scan was confirmed (POST /api/v1/scans/{id}/confirm):
-- the source's next read may remove up to `held_removals` resources.
ALTER TABLE scans ADD COLUMN confirmed_at BIGINT;

-- Each source's last read, and what of it is unknown since then: a scan of
-- another source counts these resources unknown too, not compliant.
CREATE TABLE source_reads (
    source   TEXT PRIMARY KEY,
    status   TEXT NOT NULL,            -- completed, partial, failed, suspect
    scan_id  BIGINT NOT NULL,
    at       BIGINT NOT NULL,
    since    BIGINT NOT NULL,          -- first of the reads that left it unknown
    scopes   TEXT NOT NULL,            -- JSON list of unknown scopes ([] = all read)
    message  TEXT
);

-- The document hash is now BLAKE3 (specified, the same in every build, and
-- collision-resistant against hostile documents) instead of std's
-- DefaultHasher (whose algorithm may change between Rust releases). SQL cannot compute it: the old values are cleared, so the
-- next scan of each source rewrites its rows once with the new hash
-- (`changed_at` moves only where the document itself changed).
UPDATE resources SET hash = '';
