-- People who sign in (developers and tenant admins), their sessions, and what the credential
-- lifecycle needs: when each client secret slot was set, and lookups by app and tenant.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,  -- lowercased
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL, -- Argon2id PHC string
    developer_id INTEGER REFERENCES developers(id),
    tenant_id INTEGER REFERENCES tenants(id),
    created_us INTEGER NOT NULL,
    CHECK ((developer_id IS NULL) <> (tenant_id IS NULL))
);
CREATE INDEX users_by_tenant ON users (tenant_id) WHERE tenant_id IS NOT NULL;

CREATE TABLE sessions (
    digest BLOB PRIMARY KEY, -- keyed digest of the session token; the token is never stored
    user_id INTEGER NOT NULL REFERENCES users(id),
    created_us INTEGER NOT NULL,
    expires_us INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_us);

-- The time each secret slot was set; tokens name it, so retiring a secret refuses them.
ALTER TABLE clients ADD COLUMN secret1_us INTEGER;
ALTER TABLE clients ADD COLUMN secret2_us INTEGER;
UPDATE clients SET secret1_us = created_us WHERE secret1 IS NOT NULL;
UPDATE clients SET secret2_us = created_us WHERE secret2 IS NOT NULL;
CREATE INDEX clients_by_tenant ON clients (tenant_id);

CREATE INDEX app_keys_by_app ON app_keys (app_id);
CREATE INDEX apps_by_developer ON apps (developer_id);
CREATE INDEX connections_by_tenant ON connections (tenant_id);
CREATE INDEX audit_by_tenant ON audit_events (tenant_id, at_us) WHERE tenant_id IS NOT NULL;
CREATE INDEX audit_by_app ON audit_events (app_id, at_us) WHERE app_id IS NOT NULL;
