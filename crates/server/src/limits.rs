//! Request rate limits per (app key, tenant), enforced the same on one node or many.
//!
//! The algorithm is a sliding log: a request is admitted while fewer than `limit` requests
//! were admitted in the last second, so no rolling one-second span ever holds more than the
//! limit (the stated tolerance is the clock skew between nodes, nil with Redis, whose clock
//! every node uses). The log holds at most `limit` timestamps per key.
//!
//! Counters live in memory on a single node. With several nodes they are shared, so N nodes
//! together admit the limit, not N times it: in Redis when `redis_url` is set, otherwise in the
//! shared PostgreSQL store (one round trip per request; Redis is the faster path). If the
//! shared counters cannot be reached the node falls back to its own, logs it once, and reports
//! it in the `fieldgate_rate_limit_shared` gauge, until they answer again.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use fieldgate_store::Store;
use serde::{Deserialize, Serialize};

/// Rate-limit settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LimitConfig {
    /// Requests per second per (app key, tenant), unless the app has its own.
    pub per_second: u32,
    /// Per-app limits, by app id.
    #[serde(default)]
    pub apps: HashMap<String, u32>,
    /// Shared counters for several nodes, such as `redis://127.0.0.1:6379`.
    #[serde(default)]
    pub redis_url: Option<String>,
    /// Failed token requests allowed per client id, and per source address, per minute.
    pub token_failures_per_minute: u32,
    /// Take the source address from the first `X-Forwarded-For` entry: set it behind a load
    /// balancer, or every client shares the balancer's address.
    #[serde(default)]
    pub trust_forwarded_for: bool,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            per_second: 60,
            apps: HashMap::new(),
            redis_url: None,
            token_failures_per_minute: 20,
            trust_forwarded_for: false,
        }
    }
}

impl LimitConfig {
    pub fn for_app(&self, app_id: i64) -> u32 {
        self.apps
            .get(&app_id.to_string())
            .copied()
            .unwrap_or(self.per_second)
    }
}

/// Whether a request may go on; if not, when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny { retry_after_secs: u64 },
}

/// The admission times (ms) of the last span, oldest first.
#[derive(Debug, Default)]
struct Log {
    admitted: VecDeque<i64>,
}

impl Log {
    /// Admits the request if fewer than `limit` were admitted in the `span_ms` before `now_ms`;
    /// otherwise returns how long until one slot frees up.
    fn hit(&mut self, now_ms: i64, span_ms: i64, limit: u32) -> Result<(), i64> {
        while self
            .admitted
            .front()
            .is_some_and(|t| *t <= now_ms - span_ms)
        {
            self.admitted.pop_front();
        }
        if self.admitted.len() >= limit as usize {
            let oldest = self.admitted.front().copied().unwrap_or(now_ms);
            return Err(oldest + span_ms - now_ms);
        }
        self.admitted.push_back(now_ms);
        Ok(())
    }
}

/// Sliding logs kept in this process.
#[derive(Default)]
pub struct LocalCounters {
    logs: Mutex<HashMap<String, Log>>,
}

/// Above this many keys, logs with nothing in the last minute are dropped.
const LOCAL_KEYS_SOFT_MAX: usize = 100_000;

impl LocalCounters {
    pub fn hit(&self, key: &str, now_ms: i64, span_ms: i64, limit: u32) -> Result<(), i64> {
        let mut logs = self.logs.lock().expect("rate log lock");
        if logs.len() > LOCAL_KEYS_SOFT_MAX {
            logs.retain(|_, log| log.admitted.back().is_some_and(|t| *t > now_ms - 60_000));
        }
        match logs.get_mut(key) {
            Some(log) => log.hit(now_ms, span_ms, limit),
            None => logs
                .entry(key.to_string())
                .or_default()
                .hit(now_ms, span_ms, limit),
        }
    }
}

/// The same sliding log, atomically in Redis as a sorted set, on Redis's clock so every node
/// agrees. Returns 0 when admitted, else the milliseconds until a slot frees up.
const REDIS_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + span - now)
end
redis.call('ZADD', KEYS[1], now, t[1] .. t[2] .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], span)
return 0
"#;

pub struct RateLimiter {
    pub config: LimitConfig,
    local: LocalCounters,
    redis: Option<(redis::aio::ConnectionManager, redis::Script)>,
    /// The shared store, used for counters when several nodes share it and there is no Redis.
    store: Option<Arc<dyn Store>>,
    degraded: AtomicBool,
    /// Client ids and addresses kept from the token endpoint, until a time (ms).
    blocked: Mutex<HashMap<String, i64>>,
    /// While Redis is down it is asked again only after this time (ms), so requests do not
    /// each wait on a reconnect.
    redis_retry_at: AtomicI64,
}

/// How long a node keeps to its own counters before asking an unreachable Redis again.
const REDIS_RETRY_MS: i64 = 1000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl RateLimiter {
    pub fn new(
        config: LimitConfig,
        shared_store: Option<Arc<dyn Store>>,
    ) -> Result<Self, redis::RedisError> {
        let redis = match &config.redis_url {
            Some(url) => {
                let client = redis::Client::open(url.as_str())?;
                // Short timeouts: a request waits at most this long before local limits apply.
                let settings = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_millis(250)))
                    .set_response_timeout(Some(Duration::from_millis(250)))
                    .set_number_of_retries(1);
                let manager =
                    redis::aio::ConnectionManager::new_lazy_with_config(client, settings)?;
                Some((manager, redis::Script::new(REDIS_SCRIPT)))
            }
            None => None,
        };
        let store = shared_store.filter(|_| redis.is_none());
        let shared = redis.is_some() || store.is_some();
        metrics::gauge!("fieldgate_rate_limit_shared").set(if shared { 1.0 } else { 0.0 });
        Ok(Self {
            config,
            local: LocalCounters::default(),
            redis,
            store,
            degraded: AtomicBool::new(false),
            blocked: Mutex::new(HashMap::new()),
            redis_retry_at: AtomicI64::new(0),
        })
    }

    /// Asks the shared counters once, so an unreachable Redis is reported at start.
    pub async fn probe(&self) {
        if let Some((manager, _)) = &self.redis {
            let mut connection = manager.clone();
            let pong: Result<String, _> = redis::cmd("PING").query_async(&mut connection).await;
            if let Err(e) = pong {
                self.set_degraded(true, Some(&e.to_string()));
                self.redis_retry_at
                    .store(now_ms() + REDIS_RETRY_MS, Ordering::Relaxed);
            }
        }
    }

    /// Counts one request of `app_key` (its digest hint) on `tenant` against the app's limit.
    pub async fn check_request(&self, app_key: &str, app_id: i64, tenant: i64) -> Decision {
        let limit = self.config.for_app(app_id);
        match self
            .hit(&format!("fg:rl:{app_key}:{tenant}"), limit, 1000)
            .await
        {
            Ok(()) => Decision::Allow,
            Err(wait_ms) => {
                metrics::counter!("fieldgate_rate_limited_total").increment(1);
                // Whole seconds, rounded up: a client that waits that long is admitted.
                Decision::Deny {
                    retry_after_secs: (wait_ms.max(1) as u64).div_ceil(1000),
                }
            }
        }
    }

    /// One admission against the shared counters if there are any, else (or when they do not
    /// answer) this node's own.
    async fn hit(&self, key: &str, limit: u32, span_ms: i64) -> Result<(), i64> {
        let redis = self
            .redis
            .as_ref()
            .filter(|_| now_ms() >= self.redis_retry_at.load(Ordering::Relaxed));
        if let Some((manager, script)) = redis {
            let mut connection = manager.clone();
            let nonce: u64 = rand::random();
            let result: Result<i64, _> = script
                .key(key)
                .arg(limit)
                .arg(span_ms)
                .arg(nonce)
                .invoke_async(&mut connection)
                .await;
            match result {
                Ok(wait_ms) => {
                    self.set_degraded(false, None);
                    return if wait_ms == 0 { Ok(()) } else { Err(wait_ms) };
                }
                Err(e) => {
                    self.set_degraded(true, Some(&e.to_string()));
                    self.redis_retry_at
                        .store(now_ms() + REDIS_RETRY_MS, Ordering::Relaxed);
                }
            }
        } else if let Some(store) = &self.store {
            match store.rate_hit(key, limit, span_ms).await {
                Ok(outcome) => {
                    self.set_degraded(false, None);
                    return outcome;
                }
                Err(e) => self.set_degraded(true, Some(&e.to_string())),
            }
        }
        self.local.hit(key, now_ms(), span_ms, limit)
    }

    /// Records a failed token request against its client id and its address, shared like the
    /// request limits; once either has failed too often this minute it is blocked until a
    /// slot frees up. Valid requests are never counted, so guessing secrets is slow while
    /// clients that fetch a token before every call are not.
    pub async fn token_failure(&self, client_id: &str, address: &str) {
        let limit = self.config.token_failures_per_minute;
        for (key, limit) in [
            (format!("fg:tf:c:{client_id}"), limit),
            (format!("fg:tf:a:{address}"), limit * 5),
        ] {
            // The log keeps one failure fewer than the limit: the failure that finds it full
            // is the one that reaches the limit, and blocks.
            if let Err(wait_ms) = self.hit(&key, limit.saturating_sub(1), 60_000).await {
                self.blocked
                    .lock()
                    .expect("blocked lock")
                    .insert(key, now_ms() + wait_ms);
            }
        }
    }

    /// Whether failures keep this client id or address out for now.
    pub fn token_blocked(&self, client_id: &str, address: &str) -> bool {
        let now = now_ms();
        let mut blocked = self.blocked.lock().expect("blocked lock");
        blocked.retain(|_, until| *until > now);
        blocked.contains_key(&format!("fg:tf:c:{client_id}"))
            || blocked.contains_key(&format!("fg:tf:a:{address}"))
    }

    fn set_degraded(&self, degraded: bool, error: Option<&str>) {
        if self.degraded.swap(degraded, Ordering::Relaxed) != degraded {
            if degraded {
                tracing::warn!(
                    error = error.unwrap_or_default(),
                    "shared rate-limit counters are unreachable; this node falls back to its own"
                );
            } else {
                tracing::info!("shared rate-limit counters answer again");
            }
            metrics::gauge!("fieldgate_rate_limit_shared").set(if degraded { 0.0 } else { 1.0 });
        }
    }

    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rolling_second_holds_more_than_the_limit() {
        let mut log = Log::default();
        let start = 1_000_500;
        let admitted: Vec<i64> = (0..300)
            .map(|i| start + i * 3)
            .filter(|t| log.hit(*t, 1000, 60).is_ok())
            .collect();
        assert_eq!(admitted.len(), 60, "300 requests within 0.9 s");
        // The first slot frees up exactly a second after it was taken.
        assert_eq!(log.hit(start + 999, 1000, 60), Err(1));
        assert!(log.hit(start + 1000, 1000, 60).is_ok());
    }

    #[test]
    fn evenly_spread_traffic_gets_the_limit() {
        let counters = LocalCounters::default();
        // 10 seconds at 200 requests/s against a limit of 60.
        let admitted = (0..2000)
            .filter(|i| counters.hit("k", 5_000 + i * 5, 1000, 60).is_ok())
            .count();
        assert_eq!(admitted, 600);
    }

    #[tokio::test]
    async fn token_failures_block_after_the_limit() {
        let config = LimitConfig {
            token_failures_per_minute: 3,
            ..Default::default()
        };
        let limiter = RateLimiter::new(config, None).unwrap();
        assert!(!limiter.token_blocked("cid.a", "10.0.0.1"));
        for _ in 0..2 {
            limiter.token_failure("cid.a", "10.0.0.1").await;
            assert!(!limiter.token_blocked("cid.a", "10.0.0.1"));
        }
        limiter.token_failure("cid.a", "10.0.0.1").await;
        assert!(limiter.token_blocked("cid.a", "10.0.0.1"));
        assert!(!limiter.token_blocked("cid.b", "10.0.0.2"));
    }
}
