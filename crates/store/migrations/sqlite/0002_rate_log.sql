-- A sliding log of admitted requests per key, so both stores answer the same rate question.
CREATE TABLE rate_log (
    key TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX rate_log_by_key ON rate_log (key, at_ms);
