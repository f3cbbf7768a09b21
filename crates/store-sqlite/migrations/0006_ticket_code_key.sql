-- Tickets are found by code (SkyHub's `/sac/{code}`) through an integer key: the
-- 64-bit FNV-1a hash of the code (`code_key` in src/tickets.rs, registered on the
-- migrating connection as entreposto_code_key). The (operator_id, code) index it
-- replaces held two long strings per entry, with long shared prefixes (the operator's
-- id, then the channel name that starts every code): a fourth B-tree level and a
-- string comparison at every step of the descent. Equal hashes of different codes
-- are harmless: the lookup also compares the code itself.
ALTER TABLE tickets ADD COLUMN code_key INTEGER NOT NULL DEFAULT 0;
UPDATE tickets SET code_key = entreposto_code_key(code);
CREATE INDEX tickets_code_key ON tickets (code_key);
DROP INDEX tickets_operator_code;
