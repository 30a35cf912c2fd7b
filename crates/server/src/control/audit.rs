//! Reading the audit log: per tenant (the console), per app (the portal) or all (operators),
//! bounded by time.

use fieldgate_store::{AuditEvent, AuditFilter};

use super::{Control, ControlError, ControlResult};

/// Events returned when a filter names no limit, and the most one read returns.
pub const DEFAULT_AUDIT_LIMIT: u32 = 100;
pub const MAX_AUDIT_LIMIT: u32 = 1000;

impl Control<'_> {
    /// Audit events matching the filter, newest first. A limit of 0 means the default.
    pub async fn audit_events(&self, filter: AuditFilter) -> ControlResult<Vec<AuditEvent>> {
        if let (Some(since), Some(until)) = (filter.since_us, filter.until_us)
            && since > until
        {
            return Err(ControlError::invalid("until", "until is before since"));
        }
        if filter.limit > MAX_AUDIT_LIMIT {
            return Err(ControlError::invalid(
                "limit",
                format!("at most {MAX_AUDIT_LIMIT} events per read"),
            ));
        }
        let limit = if filter.limit == 0 {
            DEFAULT_AUDIT_LIMIT
        } else {
            filter.limit
        };
        Ok(self
            .store
            .audit_query(&AuditFilter { limit, ..filter })
            .await?)
    }
}
