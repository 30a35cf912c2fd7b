//! The audit table shared by the console (a tenant's events) and the portal (an app's events),
//! with its time filter.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use fieldgate_store::AuditEvent;

use super::page::when;

/// The most events one page lists; narrower periods reach further back.
pub const LIMIT: u32 = 500;

/// A period asked for with `?since=...&until=...` (UTC, as a `datetime-local` input sends).
#[derive(Debug, Default)]
pub struct Period {
    pub since_us: Option<i64>,
    pub until_us: Option<i64>,
    since: String,
    until: String,
}

impl Period {
    pub fn parse(query: &HashMap<String, String>) -> Result<Self, String> {
        let mut period = Period::default();
        for (name, us, text) in [
            ("since", &mut period.since_us, &mut period.since),
            ("until", &mut period.until_us, &mut period.until),
        ] {
            let value = query.get(name).map(|v| v.trim()).unwrap_or_default();
            if value.is_empty() {
                continue;
            }
            let parsed = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
                .ok_or_else(|| {
                    format!("`{name}` must be a UTC date and time such as 2026-01-31T08:00.")
                })?;
            *us = Some(parsed.and_utc().timestamp_micros());
            *text = value.to_string();
        }
        if let (Some(since), Some(until)) = (period.since_us, period.until_us)
            && since > until
        {
            return Err("The period ends before it starts.".into());
        }
        Ok(period)
    }
}

/// What `audit_table.html` shows.
pub struct AuditView {
    /// Where the filter form sends its query.
    pub action: String,
    pub since: String,
    pub until: String,
    pub events: Vec<AuditRow>,
    /// The page holds [`LIMIT`] events; there may be older ones in the period.
    pub capped: bool,
}

pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub environment: String,
    pub tenant: String,
    pub app: String,
    pub address: String,
    pub detail: String,
}

impl AuditView {
    pub fn new(action: String, period: &Period, events: Vec<AuditEvent>) -> Self {
        let capped = events.len() >= LIMIT as usize;
        let events = events
            .into_iter()
            .map(|e| AuditRow {
                at: when(e.at_us),
                actor: e.actor,
                action: e.action,
                environment: e.environment.map(|e| e.to_string()).unwrap_or_default(),
                tenant: e.tenant_id.map(|t| t.to_string()).unwrap_or_default(),
                app: e.app_id.map(|a| a.to_string()).unwrap_or_default(),
                address: e.address.unwrap_or_default(),
                detail: match &e.detail {
                    serde_json::Value::Object(o) if o.is_empty() => String::new(),
                    other => other.to_string(),
                },
            })
            .collect();
        Self {
            action,
            since: period.since.clone(),
            until: period.until.clone(),
            events,
            capped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn periods_parse_as_utc_and_refuse_nonsense() {
        let p = Period::parse(&query(&[("since", "2026-01-31T08:00"), ("until", "")])).unwrap();
        assert_eq!(p.since_us, Some(1_769_846_400_000_000));
        assert_eq!(p.until_us, None);
        assert!(Period::parse(&query(&[("since", "yesterday")])).is_err());
        let backwards = [("since", "2026-02-01T00:00"), ("until", "2026-01-01T00:00")];
        assert!(Period::parse(&query(&backwards)).is_err());
    }
}
