//! Plausible people, addresses, phone numbers and money drawn from the word lists.

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::data::{self, CITIES, City};

/// A person's name.
#[derive(Debug, Clone)]
pub struct Person {
    pub first: String,
    pub last: String,
}

impl Person {
    pub fn random(rng: &mut ChaCha8Rng) -> Person {
        Person {
            first: pick(rng, data::FIRST_NAMES).to_string(),
            last: pick(rng, data::LAST_NAMES).to_string(),
        }
    }

    pub fn full(&self) -> String {
        format!("{} {}", self.first, self.last)
    }

    /// An address at one of the fictional example domains, so no real mailbox is named.
    pub fn email(&self, rng: &mut ChaCha8Rng) -> String {
        let domain = pick(rng, &["example.com", "example.net", "example.org"]);
        let n: u32 = rng.gen_range(1..100);
        format!("{}.{}{n}@{domain}", self.first, self.last).to_lowercase()
    }
}

/// A street address in the region.
#[derive(Debug, Clone)]
pub struct Address {
    pub street: String,
    pub unit: Option<String>,
    pub city: &'static str,
    pub zip: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub area: &'static str,
}

impl Address {
    pub fn random(rng: &mut ChaCha8Rng) -> Address {
        let city = pick(rng, CITIES);
        Self::in_city(rng, city)
    }

    pub fn in_city(rng: &mut ChaCha8Rng, city: &'static City) -> Address {
        let number: u32 = rng.gen_range(100..9900);
        let street = format!(
            "{number} {} {}",
            pick(rng, data::STREET_NAMES),
            pick(rng, data::STREET_SUFFIXES)
        );
        let unit = rng
            .gen_bool(0.1)
            .then(|| format!("Apt {}", rng.gen_range(100..400)));
        Address {
            street,
            unit,
            city: city.name,
            zip: city.zips[rng.gen_range(0..city.zips.len())],
            lat: round6(city.lat + rng.gen_range(-0.06..0.06)),
            lon: round6(city.lon + rng.gen_range(-0.06..0.06)),
            area: city.area,
        }
    }

    /// The address as the CRM writes it (coordinates included).
    pub fn crm_json(&self) -> Value {
        json!({
            "street": self.street,
            "unit": self.unit,
            "city": self.city,
            "state": data::STATE,
            "zip": self.zip,
            "country": data::COUNTRY,
            "latitude": self.lat,
            "longitude": self.lon,
        })
    }
}

/// A phone number in the region, from the 555-01xx block set aside for fiction.
pub fn phone(rng: &mut ChaCha8Rng, area: &str) -> String {
    format!("{area}5550{:03}", rng.gen_range(100..200))
}

pub fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    items.choose(rng).expect("word lists are not empty")
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Rounds to cents; CRM and pricebook decimals are numbers with two decimals.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Money in cents written the way accounting writes it: `"123.45"`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

/// Dollars as a number from cents, for CRM and pricebook decimals.
pub fn dollars(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// A GUID-shaped string that reads as random but ends in the record id, so the id can be
/// recovered from it (the CRM's contacts are addressed by GUID).
pub fn guid_for(id: i64) -> String {
    let h = splitmix(id as u64);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        8 + ((h >> 60) & 3),
        (h >> 40) & 0xfff,
        id as u64 & 0xffff_ffff_ffff
    )
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_two_decimals_and_a_sign() {
        assert_eq!(money(12345), "123.45");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(-250), "-2.50");
        assert_eq!(money(0), "0.00");
    }

    #[test]
    fn guid_ends_in_the_id() {
        let g = guid_for(1_000_123);
        assert_eq!(g.len(), 36);
        assert!(g.ends_with(&format!("{:012x}", 1_000_123)));
        assert_eq!(&g[14..15], "4");
        assert_ne!(guid_for(1), guid_for(2));
    }
}
