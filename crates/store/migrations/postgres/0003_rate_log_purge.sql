-- Logs of keys that are never hit again would otherwise stay forever: about one call in a
-- hundred also removes every entry older than the longest span in use (one minute), by time.
CREATE INDEX rate_log_by_time ON rate_log (at_ms);

CREATE OR REPLACE FUNCTION fg_rate_hit(k TEXT, lim INTEGER, span_ms BIGINT) RETURNS BIGINT AS $$
DECLARE
    now_ms BIGINT := (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
    taken INTEGER;
    oldest BIGINT;
BEGIN
    IF random() < 0.01 THEN
        DELETE FROM rate_log WHERE at_ms <= now_ms - 120000;
    END IF;
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
