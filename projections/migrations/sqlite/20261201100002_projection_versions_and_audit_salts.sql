-- The version of what each projection writes (`Projection::version`). A projection whose
-- code declares a higher version than the one recorded here is rebuilt from the log when the
-- read side is set up; rows of an older version would not be what the code writes now.
ALTER TABLE projection_state ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- The salt of each audit record's commitments to its personal values (docs/AUDIT.md), drawn
-- once per event and kept outside the audit tables' generations, so a rebuild writes the same
-- records and hashes. Erasing a record's personal data removes its salt with the values.
CREATE TABLE audit_salts (
    event_id  text NOT NULL PRIMARY KEY,
    tenant_id text NOT NULL,
    salt      text NOT NULL
);
CREATE INDEX audit_salts_by_tenant ON audit_salts (tenant_id);
