//! Deterministic sample data for fieldgate datasets: a small field-service company's settings,
//! customers, jobs, dispatch, invoices and pricebook, consistent with one another and valid
//! against every schema the catalog serves each resource through.
//!
//! The same seed, options and first id always give byte-identical records, so a developer's
//! sandbox can be rebuilt exactly.

use std::collections::BTreeMap;

use fieldgate_catalog::Catalog;
use fieldgate_store::Record;

mod accounting;
mod crm;
mod data;
mod dispatch;
mod fake;
mod fill;
mod jpm;
mod pricebook;
mod settings;
mod shape;
mod state;
mod world;

pub use fake::guid_for;
pub use shape::serving_schemas;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    pub seed: u64,
    /// The number of customers; everything else is sized from it.
    pub scale: usize,
    /// The reference time in microseconds: records are created and modified in the two years
    /// before it, and never after it.
    pub now_us: i64,
}

/// Generated records by resource key (`crm/customers`), each list ordered by id.
#[derive(Debug, Clone)]
pub struct SampleData {
    pub resources: BTreeMap<String, Vec<Record>>,
    /// The first id not used: ids run consecutively from `first_id` across all resources.
    pub next_id: i64,
}

/// Generates a dataset whose ids start at `first_id`.
pub fn generate(catalog: &Catalog, options: &SampleOptions, first_id: i64) -> SampleData {
    let mut g = state::Gen::new(catalog, options, first_id);
    let mut w = world::World::default();

    settings::generate(&mut g, &mut w, options.scale);
    pricebook::generate(&mut g, &mut w);
    crm::plan(&mut g, &mut w, options.scale);
    jpm::generate(&mut g, &mut w);
    dispatch::generate(&mut g, &w);
    accounting::generate(&mut g, &mut w);
    crm::finish(&mut g, &w, options.scale);

    g.finish()
}
