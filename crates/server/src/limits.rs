//! Request rate limits per (app key, tenant), enforced the same on one node or many.
//!
//! The algorithm is a sliding-window counter: a request is admitted while
//! `previous_window * (1 - elapsed) + current_window < limit`, windows being whole seconds. It
//! admits at most the limit in any one-second span, give or take the interpolation between two
//! windows (the stated tolerance: within ~10% of the limit for evenly spread traffic), and it
//! never admits a burst of twice the limit at a window boundary the way a fixed window does.
//!
//! Counters live in memory on a single node. With `redis_url` set they live in Redis, so N
//! nodes together admit the limit, not N times it; if Redis cannot be reached the node falls
//! back to its own counters, logs it once, and reports it in the `fieldgate_rate_limit_shared`
//! gauge, until Redis answers again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            per_second: 60,
            apps: HashMap::new(),
            redis_url: None,
            token_failures_per_minute: 20,
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

#[derive(Debug, Clone, Copy, Default)]
struct Window {
    second: i64,
    previous: u32,
    current: u32,
}

impl Window {
    /// Counts the request if it fits in `limit` per `span_ms`, sliding.
    fn hit(&mut self, now_ms: i64, span_ms: i64, limit: u32) -> bool {
        let slot = now_ms / span_ms;
        if slot != self.second {
            self.previous = if slot == self.second + 1 {
                self.current
            } else {
                0
            };
            self.current = 0;
            self.second = slot;
        }
        let elapsed = (now_ms % span_ms) as f64 / span_ms as f64;
        let estimate = self.previous as f64 * (1.0 - elapsed) + self.current as f64;
        if estimate + 1.0 > limit as f64 {
            return false;
        }
        self.current += 1;
        true
    }
}

/// Sliding-window counters kept in this process.
#[derive(Default)]
pub struct LocalCounters {
    windows: Mutex<HashMap<String, Window>>,
}

/// Above this many keys, windows older than the last two spans are dropped.
const LOCAL_KEYS_SOFT_MAX: usize = 100_000;

impl LocalCounters {
    pub fn hit(&self, key: &str, now_ms: i64, span_ms: i64, limit: u32) -> bool {
        let mut windows = self.windows.lock().expect("rate window lock");
        if windows.len() > LOCAL_KEYS_SOFT_MAX {
            let slot = now_ms / span_ms;
            windows.retain(|_, w| w.second >= slot - 1);
        }
        match windows.get_mut(key) {
            Some(window) => window.hit(now_ms, span_ms, limit),
            None => windows
                .entry(key.to_string())
                .or_default()
                .hit(now_ms, span_ms, limit),
        }
    }
}

/// The same sliding window, atomically in Redis, on Redis's clock so every node agrees.
const REDIS_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local span = tonumber(ARGV[2])
local slot = math.floor(now / span)
local elapsed = (now % span) / span
local current_key = KEYS[1] .. ':' .. slot
local current = tonumber(redis.call('GET', current_key) or '0')
local previous = tonumber(redis.call('GET', KEYS[1] .. ':' .. (slot - 1)) or '0')
if previous * (1 - elapsed) + current + 1 > tonumber(ARGV[1]) then
  return 0
end
redis.call('INCR', current_key)
redis.call('PEXPIRE', current_key, span * 3)
return 1
"#;

pub struct RateLimiter {
    pub config: LimitConfig,
    local: LocalCounters,
    redis: Option<(redis::aio::ConnectionManager, redis::Script)>,
    degraded: AtomicBool,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl RateLimiter {
    pub fn new(config: LimitConfig) -> Result<Self, redis::RedisError> {
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
        metrics::gauge!("fieldgate_rate_limit_shared").set(if redis.is_some() { 1.0 } else { 0.0 });
        Ok(Self {
            config,
            local: LocalCounters::default(),
            redis,
            degraded: AtomicBool::new(false),
        })
    }

    /// Counts one request of `app_key` (its digest hint) on `tenant` against the app's limit.
    pub async fn check_request(&self, app_key: &str, app_id: i64, tenant: i64) -> Decision {
        let limit = self.config.for_app(app_id);
        let key = format!("fg:rl:{app_key}:{tenant}");
        let allowed = match &self.redis {
            Some((manager, script)) => {
                let mut connection = manager.clone();
                let result: Result<i64, _> = script
                    .key(&key)
                    .arg(limit)
                    .arg(1000)
                    .invoke_async(&mut connection)
                    .await;
                match result {
                    Ok(admitted) => {
                        self.set_degraded(false, None);
                        admitted == 1
                    }
                    Err(e) => {
                        self.set_degraded(true, Some(&e));
                        self.local.hit(&key, now_ms(), 1000, limit)
                    }
                }
            }
            None => self.local.hit(&key, now_ms(), 1000, limit),
        };
        if allowed {
            Decision::Allow
        } else {
            metrics::counter!("fieldgate_rate_limited_total").increment(1);
            Decision::Deny {
                retry_after_secs: 1,
            }
        }
    }

    /// Records a failed token request; `false` once the client id or address has failed too
    /// often this minute, so guessing secrets is slow while valid requests are never counted.
    pub fn token_failure(&self, client_id: &str, address: &str) -> bool {
        let limit = self.config.token_failures_per_minute;
        let now = now_ms();
        let by_client = self
            .local
            .hit(&format!("fg:tf:c:{client_id}"), now, 60_000, limit);
        let by_address = self
            .local
            .hit(&format!("fg:tf:a:{address}"), now, 60_000, limit * 5);
        by_client && by_address
    }

    /// Whether earlier failures keep this client id or address out for now.
    pub fn token_blocked(&self, client_id: &str, address: &str) -> bool {
        let windows = self.local.windows.lock().expect("rate window lock");
        let now = now_ms();
        let limit = self.config.token_failures_per_minute as f64;
        let over = |key: String, limit: f64| {
            windows.get(&key).is_some_and(|w| {
                let slot = now / 60_000;
                let (previous, current) = match slot - w.second {
                    0 => (w.previous, w.current),
                    1 => (w.current, 0),
                    _ => (0, 0),
                };
                let elapsed = (now % 60_000) as f64 / 60_000.0;
                previous as f64 * (1.0 - elapsed) + current as f64 + 1.0 > limit
            })
        };
        over(format!("fg:tf:c:{client_id}"), limit)
            || over(format!("fg:tf:a:{address}"), limit * 5.0)
    }

    fn set_degraded(&self, degraded: bool, error: Option<&redis::RedisError>) {
        if self.degraded.swap(degraded, Ordering::Relaxed) != degraded {
            if degraded {
                tracing::warn!(error = %error.map(ToString::to_string).unwrap_or_default(),
                    "Redis is unreachable; rate limits fall back to this node's own counters");
            } else {
                tracing::info!("Redis answers again; rate limits are shared across nodes");
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
    fn a_window_admits_the_limit_per_second_and_slides() {
        let mut w = Window::default();
        let start = 1_000_000;
        let admitted = (0..300).filter(|i| w.hit(start + i * 3, 1000, 60)).count();
        assert_eq!(admitted, 60, "300 requests within 0.9 s");
        // Half a second into the next window, half of the previous one still counts.
        let admitted = (0..100).filter(|_| w.hit(start + 1500, 1000, 60)).count();
        assert_eq!(admitted, 30);
        // Two windows later everything is forgotten.
        assert!(w.hit(start + 3000, 1000, 60));
    }

    #[test]
    fn evenly_spread_traffic_gets_about_the_limit() {
        let counters = LocalCounters::default();
        // 10 seconds at 200 requests/s against a limit of 60.
        let admitted = (0..2000)
            .filter(|i| counters.hit("k", 5_000 + i * 5, 1000, 60))
            .count();
        assert!(
            (540..=660).contains(&admitted),
            "{admitted} admitted in 10 s"
        );
    }

    #[test]
    fn token_failures_block_after_the_limit() {
        let limiter = RateLimiter::new(LimitConfig {
            token_failures_per_minute: 3,
            ..Default::default()
        })
        .unwrap();
        assert!(!limiter.token_blocked("cid.a", "10.0.0.1"));
        for _ in 0..3 {
            assert!(limiter.token_failure("cid.a", "10.0.0.1"));
        }
        assert!(limiter.token_blocked("cid.a", "10.0.0.1"));
        assert!(!limiter.token_blocked("cid.b", "10.0.0.2"));
    }
}
