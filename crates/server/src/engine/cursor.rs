//! Where an export walk stands: the `from` parameter and the continuation tokens.
//!
//! Tokens are opaque to clients: a versioned position plus a tag of the feed they came from
//! (dataset and resource) and the generation of the dataset it was read from, base64url-encoded.
//! A token from another feed is refused rather than silently starting somewhere else, and one
//! from a generation since replaced by a refresh answers 409: its position means nothing in the
//! new copy.

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

pub fn encode_token(dataset: Dataset, resource: &str, generation: i64, from: ExportFrom) -> String {
    let tag = feed_tag(dataset, resource);
    let text = match from {
        ExportFrom::Start => format!("v2:{tag}:{generation}:s"),
        ExportFrom::Since { modified_us } => format!("v2:{tag}:{generation}:f:{modified_us}"),
        ExportFrom::After { modified_us, id } => {
            format!("v2:{tag}:{generation}:a:{modified_us}:{id}")
        }
    };
    URL_SAFE_NO_PAD.encode(text)
}

/// Export `from`: absent or empty, a continuation token of this feed, or a date or date-time.
/// A token also names the generation it was read from.
pub fn export_from(
    dataset: Dataset,
    resource: &str,
    params: &Params,
) -> Result<(ExportFrom, Option<i64>), ApiError> {
    let Some(from) = params.get("from") else {
        return Ok((ExportFrom::Start, None));
    };
    if let Some(t) = parse_time(from) {
        return Ok((
            ExportFrom::Since {
                modified_us: ceil_micros(t),
            },
            None,
        ));
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
    let number = |s: &str| s.parse::<i64>().ok().filter(|n| *n >= 0);
    // Tokens from before generations (v1) were all read from generation 0.
    let (version, tag, generation, rest) = match parts.as_slice() {
        ["v1", tag, rest @ ..] => ("v1", *tag, Some(0), rest),
        ["v2", tag, generation, rest @ ..] => ("v2", *tag, number(generation), rest),
        _ => return Err(bad("`from` is not a continuation token of this export.")),
    };
    if tag != feed_tag(dataset, resource) {
        return Err(bad(
            "`from` is a continuation token of another export; start this one without it.",
        ));
    }
    let generation =
        generation.ok_or_else(|| bad("`from` is not a continuation token of this export."))?;
    let _ = version;
    let position = match rest {
        ["s"] => Some(ExportFrom::Start),
        ["f", m] => number(m).map(|modified_us| ExportFrom::Since { modified_us }),
        ["a", m, id] => number(m)
            .zip(number(id))
            .map(|(modified_us, id)| ExportFrom::After { modified_us, id }),
        _ => None,
    };
    position
        .map(|p| (p, Some(generation)))
        .ok_or_else(|| bad("`from` is not a continuation token of this export."))
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
        .map(|(from, _)| from)
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
            let token = encode_token(DATASET, "jpm/jobs", 3, position);
            assert_eq!(from(&token).unwrap(), position);
            let params = Params::parse(Some(&format!("from={token}")));
            assert_eq!(
                export_from(DATASET, "jpm/jobs", &params).unwrap().1,
                Some(3)
            );
            assert!(from(&encode_token(DATASET, "crm/customers", 3, position)).is_err());
            let other_tenant = Dataset {
                tenant: 6,
                ..DATASET
            };
            assert!(from(&encode_token(other_tenant, "jpm/jobs", 3, position)).is_err());
        }
        let tag = feed_tag(DATASET, "jpm/jobs");
        let forged = URL_SAFE_NO_PAD.encode(format!("v2:{tag}:1:a:-5:-5"));
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
