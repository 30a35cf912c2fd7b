-- Control plane: who may call which tenant, in which environment, with what.
CREATE TABLE developers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    created_us INTEGER NOT NULL
);

CREATE TABLE apps (
    id INTEGER PRIMARY KEY,
    developer_id INTEGER NOT NULL REFERENCES developers(id),
    name TEXT NOT NULL,
    scopes TEXT NOT NULL, -- JSON array of requested scopes
    created_us INTEGER NOT NULL
);

CREATE TABLE app_keys (
    digest BLOB PRIMARY KEY, -- keyed digest of the key; the key itself is never stored
    app_id INTEGER NOT NULL REFERENCES apps(id),
    hint TEXT NOT NULL,      -- the first characters, so people can tell keys apart
    created_us INTEGER NOT NULL,
    expires_us INTEGER
);

CREATE TABLE tenants (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('customer', 'developer')),
    created_us INTEGER NOT NULL
);

CREATE TABLE connections (
    app_id INTEGER NOT NULL REFERENCES apps(id),
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    environment TEXT NOT NULL CHECK (environment IN ('integration', 'production')),
    scopes TEXT NOT NULL, -- JSON array of scopes the tenant granted
    created_us INTEGER NOT NULL,
    PRIMARY KEY (app_id, tenant_id, environment)
);

CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    app_id INTEGER NOT NULL REFERENCES apps(id),
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    environment TEXT NOT NULL CHECK (environment IN ('integration', 'production')),
    secret1 BLOB,            -- keyed digests of the two secret slots
    secret2 BLOB,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_us INTEGER NOT NULL
);
CREATE INDEX clients_by_app ON clients (app_id, tenant_id, environment);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    environment TEXT NOT NULL,
    private_sealed BLOB NOT NULL, -- the private key, encrypted with the master key
    public_key BLOB NOT NULL,
    created_us INTEGER NOT NULL,
    retire_after_us INTEGER
);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    at_us INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    tenant_id INTEGER,
    app_id INTEGER,
    environment TEXT,
    address TEXT,
    detail TEXT NOT NULL -- JSON object; never a secret, digest or token
);
CREATE INDEX audit_by_time ON audit_events (at_us);

-- Data plane: every resource of every dataset as JSON documents.
CREATE TABLE records (
    dataset TEXT NOT NULL,   -- '{environment}/{tenant}'
    resource TEXT NOT NULL,  -- 'crm/customers'
    id INTEGER NOT NULL,
    parent_id INTEGER,
    created_us INTEGER NOT NULL,
    modified_us INTEGER NOT NULL,
    active INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (dataset, resource, id)
);
CREATE INDEX records_by_modified ON records (dataset, resource, modified_us, id);
CREATE INDEX records_by_created ON records (dataset, resource, created_us);
CREATE INDEX records_by_parent ON records (dataset, resource, parent_id) WHERE parent_id IS NOT NULL;

-- Ids handed out per dataset, so new records never collide with generated or copied ones.
CREATE TABLE id_sequences (
    dataset TEXT PRIMARY KEY,
    next_id INTEGER NOT NULL
);
