-- Integration refresh. Records now live in one file per dataset generation,
-- datasets/{environment}-{tenant}-g{generation}.db; this file says which generation is served.
-- (The records and id_sequences tables of 0001 are emptied into those files on first open.)
CREATE TABLE datasets (
    dataset TEXT PRIMARY KEY,          -- '{environment}/{tenant}'
    generation INTEGER NOT NULL,       -- served generation; 0 while there is none
    next_generation INTEGER NOT NULL   -- last generation handed out
);

CREATE TABLE refresh_jobs (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    source TEXT NOT NULL CHECK (source IN ('production', 'sample')),
    masked INTEGER NOT NULL,
    forced INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    requested_by TEXT NOT NULL,
    requested_us INTEGER NOT NULL,
    started_us INTEGER,
    finished_us INTEGER,
    heartbeat_us INTEGER,
    runner TEXT,
    phase TEXT NOT NULL,
    phase_started_us INTEGER,
    rows_done INTEGER NOT NULL DEFAULT 0,
    rows_total INTEGER NOT NULL DEFAULT 0,
    generation INTEGER,
    error TEXT
);
-- At most one job per tenant is queued or running.
CREATE UNIQUE INDEX refresh_jobs_one_active ON refresh_jobs (tenant_id)
    WHERE status IN ('queued', 'running');
CREATE INDEX refresh_jobs_by_tenant ON refresh_jobs (tenant_id, id);

CREATE TABLE integration_settings (
    tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id),
    source TEXT NOT NULL CHECK (source IN ('production', 'sample')),
    masked INTEGER NOT NULL,
    min_interval_secs INTEGER,         -- NULL: the configured default
    updated_us INTEGER NOT NULL
);
