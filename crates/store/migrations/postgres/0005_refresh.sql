-- Integration refresh. A dataset's records are kept under the key of its served generation:
-- '{environment}/{tenant}' for generation 0, '{environment}/{tenant}~{generation}' after.
CREATE TABLE datasets (
    dataset TEXT PRIMARY KEY,
    generation BIGINT NOT NULL,
    next_generation BIGINT NOT NULL
);

-- The key the records of a dataset's served generation are stored under. STABLE, so a
-- statement resolves it once and sees one generation.
CREATE FUNCTION fg_records_key(ds TEXT) RETURNS TEXT LANGUAGE sql STABLE AS $$
    SELECT COALESCE(
        (SELECT CASE WHEN generation = 0 THEN ds ELSE ds || '~' || generation END
         FROM datasets WHERE dataset = ds),
        ds)
$$;

-- Generations being built, so ones left by a dead runner can be removed.
CREATE TABLE dataset_stages (
    dataset TEXT NOT NULL,
    generation BIGINT NOT NULL,
    tenant_id BIGINT NOT NULL,
    touched_us BIGINT NOT NULL,        -- last write; a sweep leaves fresh stages alone
    PRIMARY KEY (dataset, generation)
);

CREATE TABLE refresh_jobs (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    source TEXT NOT NULL CHECK (source IN ('production', 'sample')),
    masked BOOLEAN NOT NULL,
    forced BOOLEAN NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    requested_by TEXT NOT NULL,
    requested_us BIGINT NOT NULL,
    started_us BIGINT,
    finished_us BIGINT,
    heartbeat_us BIGINT,
    runner TEXT,
    phase TEXT NOT NULL,
    phase_started_us BIGINT,
    rows_done BIGINT NOT NULL DEFAULT 0,
    rows_total BIGINT NOT NULL DEFAULT 0,
    generation BIGINT,
    error TEXT
);
CREATE UNIQUE INDEX refresh_jobs_one_active ON refresh_jobs (tenant_id)
    WHERE status IN ('queued', 'running');
CREATE INDEX refresh_jobs_by_tenant ON refresh_jobs (tenant_id, id);

CREATE TABLE integration_settings (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id),
    source TEXT NOT NULL CHECK (source IN ('production', 'sample')),
    masked BOOLEAN NOT NULL,
    min_interval_secs BIGINT,
    updated_us BIGINT NOT NULL
);
