-- Keys the server draws once and keeps across restarts (the portal's CSRF
-- key: a form rendered before a restart still submits after it).
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    key BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
