//! The generator's state: the seeded random source, the id counter, the record clock, the
//! names of what exists so far, and the records made.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use fieldgate_catalog::Catalog;
use fieldgate_store::{Record, format_time};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use crate::fill::{self, Refs};
use crate::shape::{Field, Shape};
use crate::{SampleData, SampleOptions};

pub const DAY_US: i64 = 86_400_000_000;
pub const HOUR_US: i64 = 3_600_000_000;

/// When a record was created and last modified, in microseconds since the epoch.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    pub created_us: i64,
    pub modified_us: i64,
}

pub struct Gen<'c> {
    pub rng: ChaCha8Rng,
    pub now_us: i64,
    /// The oldest a record may be: two years before `now_us`.
    pub start_us: i64,
    catalog: &'c Catalog,
    next_id: i64,
    shapes: BTreeMap<&'static str, Arc<Layout>>,
    refs: Refs,
    out: BTreeMap<String, Vec<Record>>,
}

/// A resource's shape and where each of its properties sits in a document's values.
struct Layout {
    shape: Shape,
    at: HashMap<String, usize, foldhash::fast::RandomState>,
}

impl Layout {
    fn new(shape: Shape) -> Self {
        let at = match &shape {
            Shape::Object(fields) => fields
                .iter()
                .enumerate()
                .map(|(i, f)| (f.name.clone(), i))
                .collect(),
            _ => HashMap::default(),
        };
        Layout { shape, at }
    }

    fn fields(&self) -> &[Field] {
        match &self.shape {
            Shape::Object(fields) => fields,
            _ => &[],
        }
    }
}

/// A record being built: its document holds every property the resource's schemas name.
/// The values sit in the order of the resource's shape, whose names they are written with:
/// millions of records are made, and a map per record (its keys copied, hashed and
/// inserted) was the largest part of making one.
pub struct Doc {
    resource: &'static str,
    pub id: i64,
    pub parent_id: Option<i64>,
    pub stamp: Stamp,
    pub active: bool,
    layout: Arc<Layout>,
    values: Vec<Value>,
}

impl Doc {
    fn slot(&mut self, key: &str) -> Option<&mut Value> {
        let at = *self.layout.at.get(key)?;
        Some(&mut self.values[at])
    }

    /// A property's value as filled or set so far.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.layout.at.get(key).map(|&at| &self.values[at])
    }

    /// The document as a JSON object, for records that embed other records.
    pub fn to_map(&self) -> Map<String, Value> {
        let names = self.layout.fields().iter().map(|f| f.name.clone());
        names.zip(self.values.iter().cloned()).collect()
    }

    /// Sets a property the resource's schemas name; others are ignored, as the server would
    /// drop them anyway. Debug builds catch misspelt names.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        debug_assert!(
            self.layout.at.contains_key(key),
            "{} has no property {key}",
            self.resource
        );
        if let Some(slot) = self.slot(key) {
            *slot = value.into();
        }
    }

    /// Overwrites the properties of the object property `key` that its schema names, leaving
    /// its other properties as filled: one address value serves schemas with and without
    /// coordinates.
    pub fn merge(&mut self, key: &str, value: Value) {
        let resource = self.resource;
        let (Some(Value::Object(slot)), Value::Object(value)) = (self.slot(key), value) else {
            debug_assert!(false, "{resource}.{key} is not an object");
            return;
        };
        for (k, v) in value {
            if let Some(old) = slot.get_mut(&k) {
                *old = v;
            }
        }
    }
}

impl<'c> Gen<'c> {
    pub fn new(catalog: &'c Catalog, options: &SampleOptions, first_id: i64) -> Gen<'c> {
        Gen {
            rng: ChaCha8Rng::seed_from_u64(options.seed),
            now_us: options.now_us,
            start_us: options.now_us - 730 * DAY_US,
            catalog,
            next_id: first_id,
            shapes: BTreeMap::new(),
            refs: Refs::new(),
            out: BTreeMap::new(),
        }
    }

    /// Starts from references another generator made (the reference data of a chunked run).
    pub fn with_refs(mut self, refs: Refs) -> Self {
        self.refs = refs;
        self
    }

    pub fn refs(&self) -> &Refs {
        &self.refs
    }

    pub fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id - 1
    }

    /// A creation time between two instants, never after now.
    pub fn time_between(&mut self, from_us: i64, to_us: i64) -> i64 {
        let to = to_us.min(self.now_us);
        let from = from_us.min(to);
        self.rng.gen_range(from..=to)
    }

    /// A stamp for a record created at `created_us`: a third are never edited, the rest were
    /// edited some time later, mostly within a few weeks.
    pub fn stamp(&mut self, created_us: i64) -> Stamp {
        let created_us = created_us.min(self.now_us);
        let modified_us = if self.rng.gen_bool(0.3) {
            created_us
        } else {
            let span = (self.now_us - created_us).min(60 * DAY_US);
            created_us + self.rng.gen_range(0..=span)
        };
        Stamp {
            created_us,
            modified_us,
        }
    }

    /// A stamp with both times given, kept in order and never after now.
    pub fn stamp_at(&self, created_us: i64, modified_us: i64) -> Stamp {
        let created_us = created_us.min(self.now_us);
        Stamp {
            created_us,
            modified_us: modified_us.clamp(created_us, self.now_us),
        }
    }

    /// About one record in twenty is deactivated.
    pub fn active(&mut self) -> bool {
        self.rng.gen_bool(0.95)
    }

    /// Makes `id` available to the generic filler for properties that refer to `kind`.
    pub fn register(&mut self, kind: &'static str, id: i64, name: &str) {
        self.refs
            .entry(kind)
            .or_default()
            .push((id, name.to_string()));
    }

    /// A document for `resource` with every property filled with a plausible value and the
    /// record's own id, times and active flag in place.
    pub fn doc(&mut self, resource: &'static str, id: i64, stamp: Stamp, active: bool) -> Doc {
        let layout = self.layout(resource);
        let Shape::Object(fields) = &layout.shape else {
            panic!("{resource} records are not objects");
        };
        let mut cx = fill::Ctx {
            rng: &mut self.rng,
            refs: &self.refs,
            stamp,
        };
        let values = fill::values(fields, &mut cx);
        let mut doc = Doc {
            resource,
            id,
            parent_id: None,
            stamp,
            active,
            layout,
            values,
        };
        let own = [
            ("id", Value::from(id)),
            ("createdOn", format_time(stamp.created_us).into()),
            ("modifiedOn", format_time(stamp.modified_us).into()),
            ("active", active.into()),
        ];
        for (key, value) in own {
            if let Some(slot) = doc.slot(key) {
                *slot = value;
            }
        }
        doc
    }

    /// The names of the properties of the objects in the array property `key` of `resource`.
    pub fn item_keys(&mut self, resource: &'static str, key: &str) -> Vec<String> {
        match self.layout(resource).shape.field(key).map(|f| &f.shape) {
            Some(Shape::Array(item)) => match item.as_ref() {
                Shape::Object(fields) => fields.iter().map(|f| f.name.clone()).collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    pub fn emit(&mut self, doc: Doc) {
        // Into bytes sized for a typical document, not through `Display`, which writes each
        // piece through a formatter; names and values in the shape's order.
        let mut text = Vec::with_capacity(2048);
        text.push(b'{');
        for (i, (field, value)) in doc.layout.fields().iter().zip(&doc.values).enumerate() {
            if i > 0 {
                text.push(b',');
            }
            serde_json::to_writer(&mut text, &field.name).expect("a string always serializes");
            text.push(b':');
            serde_json::to_writer(&mut text, value).expect("a JSON value always serializes");
        }
        text.push(b'}');
        let record = Record {
            id: doc.id,
            parent_id: doc.parent_id,
            created_us: doc.stamp.created_us,
            modified_us: doc.stamp.modified_us,
            active: doc.active,
            doc: String::from_utf8(text).expect("serde_json writes UTF-8"),
        };
        self.out
            .entry(doc.resource.to_string())
            .or_default()
            .push(record);
    }

    pub fn finish(mut self) -> SampleData {
        for records in self.out.values_mut() {
            records.sort_by_key(|r| r.id);
        }
        SampleData {
            resources: self.out,
            next_id: self.next_id,
        }
    }

    fn layout(&mut self, resource: &'static str) -> Arc<Layout> {
        let catalog = self.catalog;
        let layout = self.shapes.entry(resource).or_insert_with(|| {
            let shape = Shape::for_resource(catalog, resource)
                .unwrap_or_else(|| panic!("the catalog serves no records under {resource}"));
            Arc::new(Layout::new(shape))
        });
        layout.clone()
    }
}
