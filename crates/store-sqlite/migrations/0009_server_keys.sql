-- Keys the server signs with (page cursors), generated once per database by the first
-- process that needs one and shared by every node on it; never sent to clients.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    key BLOB NOT NULL
);
