-- Omnik's comments carry their own subject and responsible party; kept per message
-- so they read back as written (NULL: the ticket's apply).
ALTER TABLE ticket_messages ADD COLUMN subject TEXT;
ALTER TABLE ticket_messages ADD COLUMN responsible TEXT;
