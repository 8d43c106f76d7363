-- E-mail digests (docs/portal.md, "E-mail digests"): one row per digest
-- and period sent (or tried), so that a restart never sends a period twice.
CREATE TABLE digest_sends (
    name        TEXT NOT NULL,       -- the `[[digest]]` table's name
    period_end  BIGINT NOT NULL,     -- the period the digest covers ends here
    sent_at     BIGINT NOT NULL,
    result      TEXT NOT NULL,       -- `sent`, or `failed: …`
    PRIMARY KEY (name, period_end)
);
