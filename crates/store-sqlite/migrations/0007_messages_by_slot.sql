-- Messages move to a rowid table whose rowid, the `slot`, is the ticket's id times
-- 2^24 plus the message's position in its ticket (src/tickets.rs, MESSAGE_SLOTS). A
-- ticket's messages still sit together and come out in order from one range descent,
-- as in the WITHOUT ROWID table of migration 5, but interior pages now hold integer
-- keys only: there, interior cells carried whole rows (a WITHOUT ROWID table's key is
-- the row), so a page held ~28 of them and a million tickets' messages took a 5-level
-- tree; keyed by integers it is 3 levels, two fewer random pages per conversation read.
CREATE TABLE ticket_messages_by_slot (
    slot              INTEGER PRIMARY KEY,
    id                INTEGER NOT NULL,
    ticket_id         INTEGER NOT NULL REFERENCES tickets (id),
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
    responsible       TEXT
);

INSERT INTO ticket_messages_by_slot (slot, id, ticket_id, conversation, author_party,
    author_name, author_email, author_code, content, customer_can_view, created_at,
    replied_at, subject, responsible)
SELECT ticket_id * 16777216 + ROW_NUMBER() OVER (PARTITION BY ticket_id ORDER BY id) - 1,
    id, ticket_id, conversation, author_party, author_name, author_email, author_code,
    content, customer_can_view, created_at, replied_at, subject, responsible
FROM ticket_messages ORDER BY ticket_id, id;

DROP TABLE ticket_messages;
ALTER TABLE ticket_messages_by_slot RENAME TO ticket_messages;
CREATE UNIQUE INDEX ticket_messages_id ON ticket_messages (id);
