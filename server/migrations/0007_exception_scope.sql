-- An exception may be confined to an asset group (`exception … in GROUP`):
-- it then exempts members of that group only. Exceptions made through the
-- API by someone whose roles are on some groups only are always confined
-- to one of them (docs/auth.md, "Group scope").
ALTER TABLE exceptions ADD COLUMN grp TEXT;
