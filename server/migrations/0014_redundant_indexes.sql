-- Indexes that longer ones already serve, dropped: every insert paid for
-- them (a first scan of 100k resources writes ~67k issues and their
-- memberships). A query on a prefix of an index's columns uses the longer
-- index, so no plan loses its index:
--   issues_status (status)            -> issues_status_id (status, id)
--   issues_policy (policy, status)    -> issues_policy_status_id (policy, status, id)
--   group_members_grp_rkey (grp, rkey) duplicates the primary key (grp, rkey).
-- Portable SQL (SQLite and PostgreSQL).
DROP INDEX IF EXISTS issues_status;
DROP INDEX IF EXISTS issues_policy;
DROP INDEX IF EXISTS group_members_grp_rkey;
