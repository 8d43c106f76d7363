-- The source texts of the last policy set that compiled, so that a server
-- restarted over a broken policy file keeps serving what last worked
-- (docs/server.md, "When the policies stop compiling"). Additive.
CREATE TABLE last_good_policies (
    path      TEXT PRIMARY KEY,         -- as the compiler was given it
    source    TEXT NOT NULL,
    saved_at  BIGINT NOT NULL
);
