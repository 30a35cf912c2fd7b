-- Shared rate limits for nodes without Redis: a sliding log of admitted requests per key.
CREATE TABLE rate_log (
    key TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX rate_log_by_key ON rate_log (key, at_ms);

-- Admits one request under `lim` per `span_ms`, on the database's clock so every node agrees.
-- Returns 0 when admitted, else the milliseconds until a slot frees up. The advisory lock
-- serialises callers of one key, so two nodes cannot both take the last slot.
CREATE FUNCTION fg_rate_hit(k TEXT, lim INTEGER, span_ms BIGINT) RETURNS BIGINT AS $$
DECLARE
    now_ms BIGINT := (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
    taken INTEGER;
    oldest BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(k, 0));
    DELETE FROM rate_log WHERE key = k AND at_ms <= now_ms - span_ms;
    SELECT count(*), min(at_ms) INTO taken, oldest FROM rate_log WHERE key = k;
    IF taken >= lim THEN
        RETURN GREATEST(1, oldest + span_ms - now_ms);
    END IF;
    INSERT INTO rate_log (key, at_ms) VALUES (k, now_ms);
    RETURN 0;
END;
$$ LANGUAGE plpgsql;
