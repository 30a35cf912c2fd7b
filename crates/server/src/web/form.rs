//! Form bodies, parsed once at the edge (by the CSRF guard) and handed to handlers.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// A url-encoded form. Repeated names (ticked checkboxes) keep every value, in order.
#[derive(Debug, Clone, Default)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of a field, as sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a field without surrounding blanks; empty when absent.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default().trim()
    }

    /// Every value of a repeated field.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// The guard has already read and checked the body; handlers take the parsed form from here.
impl<S: Send + Sync> FromRequestParts<S> for FormData {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(parts.extensions.remove::<FormData>().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_repeated_fields_and_decodes() {
        let form = FormData::parse(b"name=My+App&scope=a%3Ar&scope=b%3Aw&csrf=x");
        assert_eq!(form.get("name"), Some("My App"));
        assert_eq!(form.all("scope"), ["a:r", "b:w"]);
        assert_eq!(form.text("missing"), "");
    }
}
