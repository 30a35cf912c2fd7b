//! What has been generated so far, kept in plain structs so later areas can refer to it
//! consistently (a job's customer is the customer of the job's location, and so on).

use crate::fake::{Address, Person};
use crate::state::Stamp;

#[derive(Debug, Clone)]
pub struct Named {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Technician {
    pub id: i64,
    pub name: String,
    pub business_unit_id: i64,
}

#[derive(Debug, Clone)]
pub struct Zone {
    pub id: i64,
    pub name: &'static str,
    pub cities: &'static [&'static str],
}

#[derive(Debug, Clone)]
pub struct JobType {
    pub id: i64,
    pub name: &'static str,
    /// Index into `World::business_units`.
    pub business_unit: usize,
    /// 0 heating and cooling, 1 plumbing, 2 electrical.
    pub trade: usize,
    pub minutes: i64,
    /// Install work sells equipment.
    pub install: bool,
    pub no_charge: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkuKind {
    Service,
    Material,
    Equipment,
}

impl SkuKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SkuKind::Service => "Service",
            SkuKind::Material => "Material",
            SkuKind::Equipment => "Equipment",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Sku {
    pub id: i64,
    pub kind: SkuKind,
    /// 0 heating and cooling, 1 plumbing, 2 electrical.
    pub trade: usize,
    pub code: String,
    pub name: String,
    pub price_cents: i64,
    pub cost_cents: i64,
    pub taxable: bool,
    pub hours: f64,
}

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub commercial: bool,
    pub contact: Person,
    pub address: Address,
    pub phone: String,
    pub email: String,
    pub stamp: Stamp,
    pub active: bool,
    /// Sum of the balances of the customer's invoices, in cents.
    pub balance_cents: i64,
}

#[derive(Debug, Clone)]
pub struct Location {
    pub id: i64,
    pub customer: usize,
    pub name: String,
    pub address: Address,
    pub zone_id: Option<i64>,
    pub stamp: Stamp,
    pub active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Scheduled,
    Dispatched,
    InProgress,
    Hold,
    Completed,
    Canceled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Scheduled => "Scheduled",
            JobStatus::Dispatched => "Dispatched",
            JobStatus::InProgress => "InProgress",
            JobStatus::Hold => "Hold",
            JobStatus::Completed => "Completed",
            JobStatus::Canceled => "Canceled",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Appointment {
    pub id: i64,
    pub start_us: i64,
    pub end_us: i64,
    pub status: &'static str,
    /// Indexes into `World::technicians`.
    pub technicians: Vec<usize>,
}

/// One line of a job's invoice.
#[derive(Debug, Clone)]
pub struct LineItem {
    pub id: i64,
    /// Index into `World::skus`.
    pub sku: usize,
    pub quantity: i64,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub number: String,
    pub location: usize,
    pub customer: usize,
    pub job_type: usize,
    pub status: JobStatus,
    pub summary: &'static str,
    pub stamp: Stamp,
    pub active: bool,
    pub completed_us: Option<i64>,
    pub appointments: Vec<Appointment>,
    pub invoice_id: i64,
    pub items: Vec<LineItem>,
}

#[derive(Debug, Default, Clone)]
pub struct World {
    pub business_units: Vec<Named>,
    pub employees: Vec<Named>,
    pub technicians: Vec<Technician>,
    pub tag_types: Vec<i64>,
    pub zones: Vec<Zone>,
    pub campaigns: Vec<Named>,
    pub payment_types: Vec<Named>,
    pub job_types: Vec<JobType>,
    pub skus: Vec<Sku>,
    pub customers: Vec<Customer>,
    pub locations: Vec<Location>,
    pub jobs: Vec<Job>,
}

impl World {
    /// The zone serving a city, if any.
    pub fn zone_for(&self, city: &str) -> Option<i64> {
        self.zones
            .iter()
            .find(|z| z.cities.contains(&city))
            .map(|z| z.id)
    }
}
