//! Job planning: job types, jobs and their appointments. Each job's visits, technicians and
//! invoice lines are decided here so that dispatch and accounting can follow them.

use fieldgate_store::format_time;
use rand::Rng;
use serde_json::json;

use crate::accounting;
use crate::data;
use crate::fake::{dollars, pick};
use crate::state::{DAY_US, Gen, HOUR_US};
use crate::world::{Appointment, Job, JobStatus, JobType, LineItem, SkuKind, World};

/// Job types: name, business unit index, minutes on site, install work, no charge.
const JOB_TYPES: &[(&str, usize, i64, bool, bool)] = &[
    ("AC Repair", 0, 120, false, false),
    ("AC Tune-Up", 0, 60, false, false),
    ("Furnace Repair", 0, 120, false, false),
    ("HVAC Maintenance", 0, 90, false, false),
    ("HVAC System Replacement", 1, 480, true, false),
    ("Drain Cleaning", 2, 90, false, false),
    ("Plumbing Repair", 2, 120, false, false),
    ("Water Heater Replacement", 3, 240, true, false),
    ("Electrical Repair", 4, 120, false, false),
    ("Warranty Recall", 0, 60, false, true),
];

/// Trade of each business unit, by index.
const BU_TRADE: [usize; 5] = [0, 0, 1, 1, 2];

pub fn generate(g: &mut Gen, w: &mut World) {
    job_types(g, w);
    jobs(g, w);
}

/// Two jobs per customer of `w`, with their appointments; job types must exist.
pub fn jobs(g: &mut Gen, w: &mut World) {
    let crews = crews(w);
    for n in 0..w.customers.len() * 2 {
        let job = plan_job(g, w, &crews, n);
        w.jobs.push(job);
    }
    for job in &w.jobs {
        render_job(g, w, job);
    }
}

pub fn job_types(g: &mut Gen, w: &mut World) {
    let created = g.start_us - 15 * DAY_US;
    for (name, bu, minutes, install, no_charge) in JOB_TYPES {
        let id = g.id();
        let stamp = g.stamp(created);
        let mut d = g.doc("jpm/job-types", id, stamp, true);
        d.set("name", *name);
        d.set("businessUnitIds", json!([w.business_units[*bu].id]));
        d.set("duration", minutes * 60);
        d.set("priority", if *no_charge { "High" } else { "Normal" });
        d.set("class", if *install { "Install" } else { "Service" });
        d.set("summary", format!("{name} visit"));
        d.set("noCharge", *no_charge);
        d.set("defaultEstimateSoldAction", "None");
        d.set("skills", json!([]));
        d.set("soldThreshold", json!(null));
        g.emit(d);
        g.register("jobType", id, name);
        w.job_types.push(JobType {
            id,
            name,
            business_unit: *bu,
            trade: BU_TRADE[*bu],
            minutes: *minutes,
            install: *install,
            no_charge: *no_charge,
        });
    }
}

/// The technicians of each business unit (by index), or all of them for a unit with none.
/// Looked up per job: a company of a million customers has tens of thousands of technicians.
fn crews(w: &World) -> Vec<Vec<usize>> {
    w.business_units
        .iter()
        .map(|bu| {
            let crew: Vec<usize> = (0..w.technicians.len())
                .filter(|&t| w.technicians[t].business_unit_id == bu.id)
                .collect();
            if crew.is_empty() {
                (0..w.technicians.len()).collect()
            } else {
                crew
            }
        })
        .collect()
}

fn plan_job(g: &mut Gen, w: &World, crews: &[Vec<usize>], n: usize) -> Job {
    let id = g.id();
    let location = g.rng.gen_range(0..w.locations.len());
    let loc = &w.locations[location];
    // Installs are rarer than repairs and tune-ups.
    let mut job_type = g.rng.gen_range(0..w.job_types.len());
    if w.job_types[job_type].install && g.rng.gen_bool(0.5) {
        job_type = 0;
    }
    let jt = &w.job_types[job_type];
    let created = g.time_between(loc.stamp.created_us, g.now_us);

    let visits = match g.rng.gen_range(0..100) {
        0..80 => 1,
        80..97 => 2,
        _ => 3,
    };
    let crew = &crews[jt.business_unit];
    let mut appointments = Vec::new();
    let mut start =
        day_start(created + g.rng.gen_range(1..10) * DAY_US) + g.rng.gen_range(0..8) * HOUR_US;
    for _ in 0..visits {
        let end = start + jt.minutes * 60_000_000;
        let mut technicians = vec![*pick(&mut g.rng, crew)];
        if g.rng.gen_bool(0.1) {
            let helper = g.rng.gen_range(0..w.technicians.len());
            if !technicians.contains(&helper) {
                technicians.push(helper);
            }
        }
        appointments.push(Appointment {
            id: g.id(),
            start_us: start,
            end_us: end,
            status: visit_status(g.now_us, start, end),
            technicians,
        });
        start = day_start(end + g.rng.gen_range(1..7) * DAY_US) + g.rng.gen_range(0..8) * HOUR_US;
    }

    let mut status = job_status(&appointments);
    let last_end = appointments.last().map_or(created, |a| a.end_us);
    if status == JobStatus::Completed && last_end < g.now_us - DAY_US {
        let roll = g.rng.gen_range(0..100);
        if roll < 8 {
            status = JobStatus::Canceled;
            appointments.iter_mut().for_each(|a| a.status = "Canceled");
        } else if roll < 12 {
            status = JobStatus::Hold;
            if let Some(last) = appointments.last_mut() {
                last.status = "Hold";
            }
        }
    }
    let completed_us = (status == JobStatus::Completed).then(|| {
        let done = last_end + g.rng.gen_range(0..2 * HOUR_US);
        done.min(g.now_us)
    });
    let modified = completed_us.unwrap_or(created + g.rng.gen_range(0..DAY_US));
    let stamp = g.stamp_at(created, modified);
    let invoice_id = g.id();
    let items = match (status, jt.no_charge) {
        (JobStatus::Completed, false) => line_items(g, w, jt),
        _ => Vec::new(),
    };
    let summaries = data::JOB_SUMMARIES[jt.trade];
    Job {
        id,
        number: (10_001 + n).to_string(),
        location,
        customer: loc.customer,
        job_type,
        status,
        summary: summaries[g.rng.gen_range(0..summaries.len())],
        stamp,
        active: g.active(),
        completed_us,
        appointments,
        invoice_id,
        items,
    }
}

/// A service of the job's trade, a few materials, and for installs the equipment.
fn line_items(g: &mut Gen, w: &World, jt: &JobType) -> Vec<LineItem> {
    let of = |kind: SkuKind| -> Vec<usize> {
        (0..w.skus.len())
            .filter(|&s| w.skus[s].kind == kind && w.skus[s].trade == jt.trade)
            .collect()
    };
    let mut items = vec![(*pick(&mut g.rng, &of(SkuKind::Service)), 1)];
    let materials = of(SkuKind::Material);
    for _ in 0..g.rng.gen_range(0..=3) {
        items.push((*pick(&mut g.rng, &materials), g.rng.gen_range(1..=3)));
    }
    if jt.install {
        items.push((*pick(&mut g.rng, &of(SkuKind::Equipment)), 1));
    }
    items
        .into_iter()
        .map(|(sku, quantity)| LineItem {
            id: g.id(),
            sku,
            quantity,
        })
        .collect()
}

/// Midnight UTC of the day holding `us`, plus 13:00, when the Central-time working day starts.
fn day_start(us: i64) -> i64 {
    us - us.rem_euclid(DAY_US) + 13 * HOUR_US
}

fn visit_status(now: i64, start: i64, end: i64) -> &'static str {
    if end <= now {
        "Done"
    } else if start <= now {
        "Working"
    } else if start - now < 2 * HOUR_US {
        "Dispatched"
    } else {
        "Scheduled"
    }
}

fn job_status(appointments: &[Appointment]) -> JobStatus {
    let any = |s: &str| appointments.iter().any(|a| a.status == s);
    if appointments.iter().all(|a| a.status == "Done") {
        JobStatus::Completed
    } else if any("Working") || any("Done") {
        JobStatus::InProgress
    } else if any("Dispatched") {
        JobStatus::Dispatched
    } else {
        JobStatus::Scheduled
    }
}

fn render_job(g: &mut Gen, w: &World, job: &Job) {
    let jt = &w.job_types[job.job_type];
    let location = &w.locations[job.location];
    let customer = &w.customers[job.customer];
    let campaign = pick(&mut g.rng, &w.campaigns).id;
    let mut d = g.doc("jpm/jobs", job.id, job.stamp, job.active);
    d.set("jobNumber", job.number.as_str());
    d.set("customerId", customer.id);
    d.set("locationId", location.id);
    d.set("businessUnitId", w.business_units[jt.business_unit].id);
    d.set("jobTypeId", jt.id);
    d.set("jobStatus", job.status.as_str());
    d.set("priority", if jt.no_charge { "High" } else { "Normal" });
    d.set("campaignId", campaign);
    d.set("summary", job.summary);
    d.set("noCharge", jt.no_charge);
    d.set("notificationsEnabled", true);
    d.set(
        "customerPo",
        if customer.commercial {
            format!("PO-{}", job.id % 100_000)
        } else {
            String::new()
        },
    );
    d.set("completedOn", job.completed_us.map(format_time));
    d.set("appointmentCount", job.appointments.len() as i64);
    let first = job.appointments.first().map_or(0, |a| a.id);
    let last = job.appointments.last().map_or(0, |a| a.id);
    d.set("firstAppointmentId", first);
    d.set("lastAppointmentId", last);
    d.set("invoiceId", job.invoice_id);
    let total =
        (job.status == JobStatus::Completed).then(|| dollars(accounting::totals(w, job).total));
    d.set("total", total);
    let sold_by = job
        .items
        .iter()
        .any(|i| w.skus[i.sku].kind == SkuKind::Equipment);
    let seller = job
        .appointments
        .first()
        .map(|a| w.technicians[a.technicians[0]].id);
    d.set("soldById", if sold_by { seller } else { None });
    for key in [
        "bookingId",
        "projectId",
        "membershipId",
        "recallForId",
        "warrantyId",
    ] {
        d.set(key, json!(null));
    }
    d.set("jobGeneratedLeadSource", json!(null));
    g.emit(d);

    for (k, appt) in job.appointments.iter().enumerate() {
        let modified = match appt.status {
            "Done" | "Canceled" | "Hold" => appt.end_us + g.rng.gen_range(0..HOUR_US),
            _ => job.stamp.created_us,
        };
        let stamp = g.stamp_at(job.stamp.created_us, modified);
        let mut d = g.doc("jpm/appointments", appt.id, stamp, job.active);
        d.set("appointmentNumber", format!("{}-{}", job.number, k + 1));
        d.set("jobId", job.id);
        d.set("customerId", customer.id);
        d.set("start", format_time(appt.start_us));
        d.set("end", format_time(appt.end_us));
        d.set("arrivalWindowStart", format_time(appt.start_us));
        d.set("arrivalWindowEnd", format_time(appt.start_us + 2 * HOUR_US));
        d.set("status", appt.status);
        d.set(
            "isConfirmed",
            appt.status != "Scheduled" || g.rng.gen_bool(0.6),
        );
        d.set("unused", false);
        let note = g.rng.gen_bool(0.2).then(|| *pick(&mut g.rng, data::NOTES));
        d.set("specialInstructions", note);
        d.set("appointmentSummaries", json!([]));
        g.emit(d);
    }
}
