-- The client address a command came from (the audit trail's "source IP"); NULL for events
-- Keel causes itself and for events stored before it was recorded.
ALTER TABLE events ADD COLUMN source_ip TEXT;
