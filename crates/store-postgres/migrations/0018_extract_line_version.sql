-- An extract line's version: every write of a line (an order push, a statement step,
-- a resolve or read mark) moves it by one, and a line rewritten whole is written only
-- if it is still at the version it was read at, so a push racing a statement step on
-- one line cannot overwrite the step's release (the loser decides again).
ALTER TABLE extract_lines ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
