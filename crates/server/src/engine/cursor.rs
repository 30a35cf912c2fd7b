//! Where an export walk stands: the `from` parameter and the continuation tokens.
//!
//! Tokens are opaque to clients: a versioned position plus a tag of the feed they came from
//! (dataset and resource), the generation of the dataset it was read from, and a MAC under a
//! key derived from the master key, base64url-encoded. A token from another feed is refused
//! rather than silently starting somewhere else; one from a generation since replaced by a
//! refresh answers 409, as its position means nothing in the new copy. The MAC keeps a client
//! from editing the generation (or the position) to walk on into a copy the token never saw.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fieldgate_store::{Dataset, ExportFrom};
use sha2::{Digest, Sha256};

use super::query::{Params, ceil_micros, parse_time};
use crate::crypto::{Keys, hex};
use crate::error::ApiError;

/// Eight hex digits naming the feed a token belongs to.
fn feed_tag(dataset: Dataset, resource: &str) -> String {
    let digest = Sha256::new()
        .chain_update(dataset.key())
        .chain_update("|")
        .chain_update(resource)
        .finalize();
    hex(&digest[..4])
}

/// 24 hex digits (96 bits) authenticating a token's text for its feed.
fn mac(keys: &Keys, dataset: Dataset, resource: &str, text: &str) -> String {
    let digest = keys.digest(
        "export token",
        &format!("{}|{resource}|{text}", dataset.key()),
    );
    hex(&digest[..12])
}

pub fn encode_token(
    keys: &Keys,
    dataset: Dataset,
    resource: &str,
    generation: i64,
    from: ExportFrom,
) -> String {
    let tag = feed_tag(dataset, resource);
    let text = match from {
        ExportFrom::Start => format!("v3:{tag}:{generation}:s"),
        ExportFrom::Since { modified_us } => format!("v3:{tag}:{generation}:f:{modified_us}"),
        ExportFrom::After { modified_us, id } => {
            format!("v3:{tag}:{generation}:a:{modified_us}:{id}")
        }
    };
    let mac = mac(keys, dataset, resource, &text);
    URL_SAFE_NO_PAD.encode(format!("{text}:{mac}"))
}

/// Export `from`: absent or empty, a continuation token of this feed, or a date or date-time.
/// A token also names the generation it was read from.
pub fn export_from(
    keys: &Keys,
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
    let not_ours = || bad("`from` is not a continuation token of this export.");
    let text = URL_SAFE_NO_PAD
        .decode(from.trim_end_matches('='))
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            bad("`from` must be a continuation token from an earlier page, a date or a date-time.")
        })?;
    let parts: Vec<&str> = text.split(':').collect();
    let (tag, generation, rest) = match parts.as_slice() {
        ["v3", tag, generation, rest @ .., _mac] => (*tag, *generation, rest),
        // Unsigned tokens of earlier versions: where they stood cannot be trusted.
        ["v1" | "v2", ..] => return Err(outdated()),
        _ => return Err(not_ours()),
    };
    if tag != feed_tag(dataset, resource) {
        return Err(bad(
            "`from` is a continuation token of another export; start this one without it.",
        ));
    }
    let (signed, given_mac) = text.rsplit_once(':').ok_or_else(not_ours)?;
    let expected = mac(keys, dataset, resource, signed);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        expected.as_bytes(),
        given_mac.as_bytes(),
    )) {
        return Err(bad(
            "`from` was altered or was not issued by this server; restart the walk without it.",
        ));
    }
    let number = |s: &str| s.parse::<i64>().ok().filter(|n| *n >= 0);
    let generation = number(generation).ok_or_else(not_ours)?;
    let position = match rest {
        ["s"] => Some(ExportFrom::Start),
        ["f", m] => number(m).map(|modified_us| ExportFrom::Since { modified_us }),
        ["a", m, id] => number(m)
            .zip(number(id))
            .map(|(modified_us, id)| ExportFrom::After { modified_us, id }),
        _ => None,
    };
    position.map(|p| (p, Some(generation))).ok_or_else(not_ours)
}

/// A token from before tokens were signed: 409 like a replaced copy's, as the cure is the same.
fn outdated() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "This continuation token was issued by an earlier version of fieldgate and can no \
         longer be trusted to say where the export stood. Restart the walk without `from` (or \
         from a date).",
    )
    .with_error(
        "from",
        "The continuation token is of an earlier, unsigned kind.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldgate_store::Environment;
    use secrecy::SecretString;

    const DATASET: Dataset = Dataset {
        environment: Environment::Production,
        tenant: 5,
    };

    fn keys(master: &str) -> Keys {
        Keys::from_master(&SecretString::from(master.repeat(32))).unwrap()
    }

    fn from(value: &str) -> Result<(ExportFrom, Option<i64>), ApiError> {
        export_from(
            &keys("k"),
            DATASET,
            "jpm/jobs",
            &Params::parse(Some(&format!("from={value}"))),
        )
    }

    fn token(dataset: Dataset, resource: &str, generation: i64, at: ExportFrom) -> String {
        encode_token(&keys("k"), dataset, resource, generation, at)
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
            let t = token(DATASET, "jpm/jobs", 3, position);
            assert_eq!(from(&t).unwrap(), (position, Some(3)));
            assert!(from(&token(DATASET, "crm/customers", 3, position)).is_err());
            let other_tenant = Dataset {
                tenant: 6,
                ..DATASET
            };
            assert!(from(&token(other_tenant, "jpm/jobs", 3, position)).is_err());
        }
    }

    /// The token's text with `edit` applied, encoded again with its MAC left as it was.
    fn edited(token: &str, edit: impl Fn(&str) -> String) -> String {
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).unwrap()).unwrap();
        URL_SAFE_NO_PAD.encode(edit(&text))
    }

    #[test]
    fn edited_foreign_and_unsigned_tokens_are_refused() {
        let at = ExportFrom::After {
            modified_us: 10,
            id: 7,
        };
        let issued = token(DATASET, "jpm/jobs", 3, at);
        // Moving a token to the generation a refresh made would skip the 409.
        let moved = edited(&issued, |t| t.replacen(":3:", ":4:", 1));
        let error = from(&moved).unwrap_err();
        assert_eq!(error.status, 400);
        assert!(
            error.errors["from"][0].contains("altered"),
            "{:?}",
            error.errors
        );
        assert!(from(&edited(&issued, |t| t.replacen(":7:", ":8:", 1))).is_err());
        // Another server's (another master key's) tokens are not ours.
        let foreign = encode_token(&keys("z"), DATASET, "jpm/jobs", 3, at);
        assert!(from(&foreign).is_err());
        // Tokens of earlier versions were unsigned: a clear 409, restart the walk.
        let tag = feed_tag(DATASET, "jpm/jobs");
        for old in [format!("v2:{tag}:3:a:10:7"), format!("v1:{tag}:a:10:7")] {
            let error = from(&URL_SAFE_NO_PAD.encode(old)).unwrap_err();
            assert_eq!(error.status, 409);
            assert!(error.title.contains("Restart the walk"), "{}", error.title);
        }
        let text = format!("v3:{tag}:1:a:-5:-5");
        let mac = mac(&keys("k"), DATASET, "jpm/jobs", &text);
        assert!(from(&URL_SAFE_NO_PAD.encode(format!("{text}:{mac}"))).is_err());
    }

    #[test]
    fn dates_and_empty_values_are_not_tokens() {
        assert_eq!(
            from("2020-01-01").unwrap().0,
            ExportFrom::Since {
                modified_us: 1_577_836_800_000_000
            }
        );
        assert_eq!(from("").unwrap().0, ExportFrom::Start);
        assert!(from("garbage!").is_err());
    }
}
