//! The union of the schemas a resource is served through, compiled once into a plain tree.
//!
//! A stored document is projected onto the schema of whichever operation serves it, so it must
//! carry every property any of those schemas names, with a value each of them accepts.

use fieldgate_catalog::{Catalog, OpKind};
use serde_json::Value;

/// Deeper than any non-recursive schema the generator fills; recursive ones stop here.
const MAX_DEPTH: usize = 6;

#[derive(Debug, Clone)]
pub enum Shape {
    Object(Vec<Field>),
    Array(Box<Shape>),
    String {
        format: Option<String>,
        /// Allowed values, common to every schema that names the property.
        choices: Option<Vec<String>>,
    },
    Integer,
    Number,
    Boolean,
    /// No type given (or too deep to follow): any value is accepted.
    Any,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    /// The name in lower case, which the filler judges by: made once, not per record.
    pub lower: String,
    pub shape: Shape,
    /// Null is allowed only when every schema naming the property allows it.
    pub nullable: bool,
}

/// The schemas serving `resource`, most authoritative first: lists, then gets, then exports.
pub fn serving_schemas<'c>(catalog: &'c Catalog, resource: &str) -> Vec<(&'c str, &'c Value)> {
    let mut found: Vec<(&str, &Value)> = Vec::new();
    let tiers: [&[OpKind]; 3] = [
        &[OpKind::List, OpKind::Array],
        &[OpKind::Get],
        &[OpKind::Export],
    ];
    for kinds in tiers {
        for op in catalog.operations.iter() {
            if op.resource != resource || !kinds.contains(&op.kind) {
                continue;
            }
            let name = match op.kind {
                OpKind::Get => op.response_schema.as_deref(),
                _ => op.item_schema.as_deref(),
            };
            let schema = name.and_then(|n| catalog.schema(&op.module, n));
            if let Some(schema) = schema
                && !found.iter().any(|(_, s)| std::ptr::eq(*s, schema))
            {
                found.push((op.module.as_str(), schema));
            }
        }
    }
    found
}

impl Shape {
    /// The union shape of a resource, or `None` when the catalog serves no records under it.
    pub fn for_resource(catalog: &Catalog, resource: &str) -> Option<Shape> {
        let schemas = serving_schemas(catalog, resource);
        (!schemas.is_empty()).then(|| union(catalog, &schemas, 0).0)
    }

    /// The field of an object shape, by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        match self {
            Shape::Object(fields) => fields.iter().find(|f| f.name == name),
            _ => None,
        }
    }
}

/// Merges schemas that describe the same value; returns the shape and whether all allow null.
fn union(catalog: &Catalog, schemas: &[(&str, &Value)], depth: usize) -> (Shape, bool) {
    let views: Vec<_> = schemas
        .iter()
        .map(|(m, s)| (*m, catalog.view(m, s)))
        .collect();
    let nullable = views.iter().all(|(_, v)| v.nullable);
    let Some(ty) = views.iter().find_map(|(_, v)| v.ty()) else {
        return (Shape::Any, nullable);
    };
    if depth >= MAX_DEPTH && matches!(ty, "object" | "array") {
        return (Shape::Any, nullable);
    }
    let shape = match ty {
        "object" => {
            let mut fields: Vec<Field> = Vec::new();
            for (_, view) in &views {
                for (name, _) in view.properties() {
                    if fields.iter().any(|f| &f.name == name) {
                        continue;
                    }
                    let naming: Vec<(&str, &Value)> = views
                        .iter()
                        .filter_map(|(m, v)| v.property(name).map(|p| (*m, p)))
                        .collect();
                    let (shape, nullable) = union(catalog, &naming, depth + 1);
                    fields.push(Field {
                        name: name.clone(),
                        lower: name.to_ascii_lowercase(),
                        shape,
                        nullable,
                    });
                }
            }
            Shape::Object(fields)
        }
        "array" => {
            let items: Vec<(&str, &Value)> = views
                .iter()
                .filter_map(|(m, v)| v.items().map(|i| (*m, i)))
                .collect();
            Shape::Array(Box::new(union(catalog, &items, depth + 1).0))
        }
        "string" => Shape::String {
            format: views.iter().find_map(|(_, v)| v.format()).map(String::from),
            choices: common_choices(&views),
        },
        "integer" => Shape::Integer,
        "number" => Shape::Number,
        "boolean" => Shape::Boolean,
        _ => Shape::Any,
    };
    (shape, nullable)
}

/// Enum values every enum-bearing schema accepts (they compare case-insensitively).
fn common_choices(views: &[(&str, fieldgate_catalog::schema::View<'_>)]) -> Option<Vec<String>> {
    let mut lists = views.iter().filter_map(|(_, v)| v.enum_values());
    let first: Vec<String> = lists
        .next()?
        .iter()
        .filter_map(|x| x.as_str().map(String::from))
        .collect();
    let rest: Vec<_> = lists.collect();
    let common: Vec<String> = first
        .into_iter()
        .filter(|c| {
            rest.iter().all(|l| {
                l.iter()
                    .any(|x| x.as_str().is_some_and(|x| x.eq_ignore_ascii_case(c)))
            })
        })
        .collect();
    (!common.is_empty()).then_some(common)
}
