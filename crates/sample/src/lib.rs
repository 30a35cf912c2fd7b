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

/// Sample data too large to hold in memory, made in chunks of customers that share one set of
/// reference data (settings, pricebook, job types, zones). Each chunk is consistent on its own
/// (a job's location, customer, invoice and payment are all in it) and deterministic for its
/// index, so chunks can be made on several threads.
pub struct Chunked<'c> {
    catalog: &'c Catalog,
    options: SampleOptions,
    world: world::World,
    refs: fill::Refs,
}

impl<'c> Chunked<'c> {
    /// Makes the reference data, with ids from `first_id`; returns it with the generator.
    pub fn new(catalog: &'c Catalog, options: &SampleOptions, first_id: i64) -> (Self, SampleData) {
        let mut g = state::Gen::new(catalog, options, first_id);
        let mut w = world::World::default();
        settings::generate(&mut g, &mut w, options.scale);
        pricebook::generate(&mut g, &mut w);
        jpm::job_types(&mut g, &mut w);
        dispatch::zones_and_teams(&mut g, &w);
        let refs = g.refs().clone();
        let chunked = Chunked {
            catalog,
            options: options.clone(),
            world: w,
            refs,
        };
        (chunked, g.finish())
    }

    /// The customers of chunk `index` and everything that hangs off them, with ids from
    /// `first_id`; at most [`Chunked::IDS_PER_CUSTOMER`] ids per customer are used.
    pub fn chunk(&self, index: u64, first_id: i64, customers: usize) -> SampleData {
        let options = SampleOptions {
            seed: self
                .options
                .seed
                .wrapping_add((index + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            ..self.options.clone()
        };
        let mut g = state::Gen::new(self.catalog, &options, first_id).with_refs(self.refs.clone());
        let mut w = self.world.clone();
        crm::plan(&mut g, &mut w, customers);
        jpm::jobs(&mut g, &mut w);
        dispatch::assignments(&mut g, &w);
        accounting::generate(&mut g, &mut w);
        crm::finish(&mut g, &w, customers);
        g.finish()
    }

    /// Ids a chunk may use per customer; chunks are given disjoint ranges of this size.
    pub const IDS_PER_CUSTOMER: i64 = 60;
}
