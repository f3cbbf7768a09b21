-- Messages are read by ticket (a ticket's conversation, a page's comments). Clustered
-- on (ticket_id, id), one ticket's messages sit together in one or two B-tree pages,
-- found in one descent; in a rowid table they sit wherever each message's rowid fell,
-- and the messages of busy tickets interleave as they arrive, so a conversation cost
-- an index descent plus one table descent per message. Ids stay global and unique:
-- each insert takes MAX(id) + 1 inside the write transaction, which SQLite runs one
-- at a time (across processes too); ticket_messages_id makes MAX(id) one descent.
CREATE TABLE ticket_messages_by_ticket (
    ticket_id         INTEGER NOT NULL REFERENCES tickets (id),
    id                INTEGER NOT NULL,
    conversation      TEXT NOT NULL,
    author_party      TEXT NOT NULL,
    author_name       TEXT,
    author_email      TEXT,
    author_code       TEXT,
    content           TEXT NOT NULL,
    customer_can_view INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    replied_at        INTEGER,
    subject           TEXT,
    responsible       TEXT,
    PRIMARY KEY (ticket_id, id)
) WITHOUT ROWID;

INSERT INTO ticket_messages_by_ticket (ticket_id, id, conversation, author_party,
    author_name, author_email, author_code, content, customer_can_view, created_at,
    replied_at, subject, responsible)
SELECT ticket_id, id, conversation, author_party, author_name, author_email,
    author_code, content, customer_can_view, created_at, replied_at, subject, responsible
FROM ticket_messages ORDER BY ticket_id, id;

DROP TABLE ticket_messages;
ALTER TABLE ticket_messages_by_ticket RENAME TO ticket_messages;
CREATE UNIQUE INDEX ticket_messages_id ON ticket_messages (id);
