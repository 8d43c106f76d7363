-- Indexes for the issue list: every filter combination the API builds
-- (policy, status, severity, each optional) finds its rows in id order
-- through one of these, so a page is LIMIT rows of an index range rather
-- than a sort of the whole table. Portable SQL (SQLite and PostgreSQL).
CREATE INDEX issues_status_id ON issues (status, id);
CREATE INDEX issues_policy_status_id ON issues (policy, status, id);
CREATE INDEX issues_severity_status_id ON issues (severity, status, id);
CREATE INDEX group_members_grp_rkey ON group_members (grp, rkey);
