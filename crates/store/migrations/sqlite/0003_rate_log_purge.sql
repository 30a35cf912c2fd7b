-- Lets expired entries of every key be removed by time (see rate_hit).
CREATE INDEX rate_log_by_time ON rate_log (at_ms);
