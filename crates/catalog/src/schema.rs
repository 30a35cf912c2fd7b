//! Reading the catalog's JSON schemas: references, nullability and types.

use serde_json::Value;

use crate::Catalog;

/// A schema seen through its wrappers: `$ref`, and `oneOf`/`allOf` of one schema (plus `null`).
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub schema: &'a Value,
    /// True when any wrapper on the way allowed `null`.
    pub nullable: bool,
}

impl Catalog {
    /// Follows references and single-schema wrappers until a concrete schema is reached.
    pub fn view<'a>(&'a self, module: &str, schema: &'a Value) -> View<'a> {
        let mut nullable = is_nullable(schema);
        let mut current = schema;
        for _ in 0..16 {
            if let Some(name) = current.get("$ref").and_then(Value::as_str) {
                match self.schema(module, name) {
                    Some(target) => {
                        current = target;
                        nullable |= is_nullable(current);
                        continue;
                    }
                    None => break,
                }
            }
            let wrapped = ["oneOf", "allOf", "anyOf"]
                .iter()
                .find_map(|k| current.get(*k).and_then(Value::as_array));
            if let Some(options) = wrapped {
                let concrete: Vec<&Value> = options
                    .iter()
                    .filter(|o| o.get("type") != Some(&"null".into()))
                    .collect();
                nullable |= concrete.len() < options.len();
                if let Some(first) = concrete.first() {
                    current = first;
                    nullable |= is_nullable(current);
                    continue;
                }
            }
            break;
        }
        View {
            schema: current,
            nullable,
        }
    }

    /// The named schema of a module, resolved.
    pub fn named(&self, module: &str, name: &str) -> Option<View<'_>> {
        self.schema(module, name).map(|s| self.view(module, s))
    }
}

impl<'a> View<'a> {
    /// The JSON type other than `null`: `object`, `array`, `string`, `integer`, `number`, `boolean`.
    pub fn ty(&self) -> Option<&'a str> {
        match self.schema.get("type") {
            Some(Value::String(t)) => Some(t),
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
            _ if self.schema.get("properties").is_some() => Some("object"),
            _ if self.schema.get("enum").is_some() => Some("string"),
            _ => None,
        }
    }

    pub fn format(&self) -> Option<&'a str> {
        self.schema.get("format").and_then(Value::as_str)
    }

    /// Properties of an object schema, in document order.
    pub fn properties(&self) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
    }

    pub fn property(&self, name: &str) -> Option<&'a Value> {
        self.schema.get("properties")?.get(name)
    }

    pub fn is_required(&self, name: &str) -> bool {
        self.schema
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|x| x == name))
    }

    pub fn items(&self) -> Option<&'a Value> {
        self.schema.get("items")
    }

    pub fn enum_values(&self) -> Option<&'a Vec<Value>> {
        self.schema.get("enum").and_then(Value::as_array)
    }
}

/// Whether a schema itself says it may be `null` (OpenAPI 3.0 `nullable` or 3.1 type arrays).
pub fn is_nullable(schema: &Value) -> bool {
    schema.get("nullable") == Some(&Value::Bool(true))
        || schema
            .get("type")
            .and_then(Value::as_array)
            .is_some_and(|ts| ts.iter().any(|t| t == "null"))
}

/// One way a JSON value fails its schema: where (`locations[0].address.zip`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

impl Catalog {
    /// Checks `value` against a schema of `module`. With `strict`, properties the schema does
    /// not name are violations too (used for what fieldgate serves; requests are lenient).
    pub fn validate(
        &self,
        module: &str,
        schema: &Value,
        value: &Value,
        strict: bool,
    ) -> Vec<Violation> {
        let mut out = Vec::new();
        self.check(module, schema, value, strict, "", &mut out);
        out
    }

    fn check(
        &self,
        module: &str,
        schema: &Value,
        value: &Value,
        strict: bool,
        path: &str,
        out: &mut Vec<Violation>,
    ) {
        let view = self.view(module, schema);
        let mut fail = |message: String| {
            out.push(Violation {
                path: path.to_string(),
                message,
            })
        };
        let Some(ty) = view.ty() else { return };
        if value.is_null() {
            if !view.nullable {
                fail("must not be null".into());
            }
            return;
        }
        let ok = match ty {
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        };
        if !ok {
            fail(format!("must be {}", article(ty)));
            return;
        }
        if let (Some(allowed), Some(s)) = (view.enum_values(), value.as_str())
            && !allowed
                .iter()
                .any(|a| a.as_str().is_some_and(|a| a.eq_ignore_ascii_case(s)))
        {
            let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
            fail(format!("must be one of {}", names.join(", ")));
        }
        if ty == "string" && view.format() == Some("date-time") {
            let s = value.as_str().unwrap_or_default();
            if chrono_like(s).is_none() {
                fail("must be a date-time such as 2024-01-31T08:00:00Z".into());
            }
        }
        match value {
            Value::Array(items) => {
                if let Some(item_schema) = view.items() {
                    for (i, item) in items.iter().enumerate() {
                        let p = format!("{path}[{i}]");
                        self.check(module, item_schema, item, strict, &p, out);
                    }
                }
            }
            Value::Object(map) if view.schema.get("properties").is_some() => {
                for (name, prop) in view.properties() {
                    let p = if path.is_empty() {
                        name.clone()
                    } else {
                        format!("{path}.{name}")
                    };
                    match map.get(name) {
                        Some(v) => self.check(module, prop, v, strict, &p, out),
                        None if view.is_required(name) => out.push(Violation {
                            path: p,
                            message: "is required".into(),
                        }),
                        None => {}
                    }
                }
                if strict {
                    for name in map.keys().filter(|k| view.property(k).is_none()) {
                        let p = if path.is_empty() {
                            name.clone()
                        } else {
                            format!("{path}.{name}")
                        };
                        out.push(Violation {
                            path: p,
                            message: "is not in the schema".into(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
}

fn article(ty: &str) -> String {
    match ty {
        "integer" | "array" | "object" => format!("an {ty}"),
        _ => format!("a {ty}"),
    }
}

/// Loose date-time check: a date, optionally followed by `T` and a time. The engine parses
/// strictly where a value is used; validation only has to catch values that are not times.
fn chrono_like(s: &str) -> Option<()> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    (b.len() >= 10 && digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10))
        .then_some(())
        .filter(|_| b.len() == 10 || (b.len() >= 16 && (b[10] == b'T' || b[10] == b' ')))
}
