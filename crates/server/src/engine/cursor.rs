//! Where an export walk stands: the `from` parameter and the continuation tokens.
//!
//! Tokens are opaque to clients: a versioned position plus a tag of the feed they came from
//! (dataset and resource), base64url-encoded. A token from another feed is refused rather than
//! silently starting somewhere else.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fieldgate_store::{Dataset, ExportFrom};
use sha2::{Digest, Sha256};

use super::query::{Params, ceil_micros, parse_time};
use crate::error::ApiError;

/// Eight hex digits naming the feed a token belongs to.
fn feed_tag(dataset: Dataset, resource: &str) -> String {
    let digest = Sha256::new()
        .chain_update(dataset.key())
        .chain_update("|")
        .chain_update(resource)
        .finalize();
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

pub fn encode_token(dataset: Dataset, resource: &str, from: ExportFrom) -> String {
    let tag = feed_tag(dataset, resource);
    let text = match from {
        ExportFrom::Start => format!("v1:{tag}:s"),
        ExportFrom::Since { modified_us } => format!("v1:{tag}:f:{modified_us}"),
        ExportFrom::After { modified_us, id } => format!("v1:{tag}:a:{modified_us}:{id}"),
    };
    URL_SAFE_NO_PAD.encode(text)
}

/// Export `from`: absent or empty, a continuation token of this feed, or a date or date-time.
pub fn export_from(
    dataset: Dataset,
    resource: &str,
    params: &Params,
) -> Result<ExportFrom, ApiError> {
    let Some(from) = params.get("from") else {
        return Ok(ExportFrom::Start);
    };
    if let Some(t) = parse_time(from) {
        return Ok(ExportFrom::Since {
            modified_us: ceil_micros(t),
        });
    }
    let bad = |why: &str| ApiError::field("from", why.to_string());
    let text = URL_SAFE_NO_PAD
        .decode(from.trim_end_matches('='))
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            bad("`from` must be a continuation token from an earlier page, a date or a date-time.")
        })?;
    let parts: Vec<&str> = text.split(':').collect();
    let (version, tag, rest) = match parts.as_slice() {
        [version, tag, rest @ ..] => (*version, *tag, rest),
        _ => return Err(bad("`from` is not a continuation token of this export.")),
    };
    if version != "v1" || tag != feed_tag(dataset, resource) {
        return Err(bad(
            "`from` is a continuation token of another export; start this one without it.",
        ));
    }
    let number = |s: &str| s.parse::<i64>().ok().filter(|n| *n >= 0);
    let position = match rest {
        ["s"] => Some(ExportFrom::Start),
        ["f", m] => number(m).map(|modified_us| ExportFrom::Since { modified_us }),
        ["a", m, id] => number(m)
            .zip(number(id))
            .map(|(modified_us, id)| ExportFrom::After { modified_us, id }),
        _ => None,
    };
    position.ok_or_else(|| bad("`from` is not a continuation token of this export."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldgate_store::Environment;

    const DATASET: Dataset = Dataset {
        environment: Environment::Production,
        tenant: 5,
    };

    fn from(value: &str) -> Result<ExportFrom, ApiError> {
        export_from(
            DATASET,
            "jpm/jobs",
            &Params::parse(Some(&format!("from={value}"))),
        )
    }

    #[test]
    fn tokens_round_trip_within_their_feed_only() {
        for position in [
            ExportFrom::Start,
            ExportFrom::Since { modified_us: 5 },
            ExportFrom::After {
                modified_us: 1_704_067_200_000_000,
                id: 2_147_483_649,
            },
        ] {
            assert_eq!(
                from(&encode_token(DATASET, "jpm/jobs", position)).unwrap(),
                position
            );
            assert!(from(&encode_token(DATASET, "crm/customers", position)).is_err());
            let other_tenant = Dataset {
                tenant: 6,
                ..DATASET
            };
            assert!(from(&encode_token(other_tenant, "jpm/jobs", position)).is_err());
        }
        let tag = feed_tag(DATASET, "jpm/jobs");
        let forged = URL_SAFE_NO_PAD.encode(format!("v1:{tag}:a:-5:-5"));
        assert!(from(&forged).is_err());
    }

    #[test]
    fn dates_and_empty_values_are_not_tokens() {
        assert_eq!(
            from("2020-01-01").unwrap(),
            ExportFrom::Since {
                modified_us: 1_577_836_800_000_000
            }
        );
        assert_eq!(from("").unwrap(), ExportFrom::Start);
        assert!(from("garbage!").is_err());
    }
}
