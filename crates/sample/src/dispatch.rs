//! Dispatch: service zones, teams, and which technician went to which appointment.

use fieldgate_store::format_time;
use rand::Rng;
use serde_json::json;

use crate::data::CITIES;
use crate::state::{DAY_US, Gen, HOUR_US};
use crate::world::World;

const ZONES: &[(&str, &[&str])] = &[
    ("North", &["Plano", "Frisco", "McKinney", "Allen"]),
    ("Central", &["Dallas", "Richardson"]),
    ("East", &["Garland", "Mesquite"]),
    ("West", &["Irving", "Carrollton"]),
    ("Mid-Cities", &["Arlington"]),
    ("Fort Worth", &["Fort Worth"]),
];

const TEAMS: &[&str] = &["Red Team", "Blue Team", "Install Crew"];

/// Gives the zones their ids; their records are written once technicians exist.
pub fn plan_zones(g: &mut Gen, w: &mut World) {
    for (name, cities) in ZONES {
        let id = g.id();
        w.zones.push(crate::world::Zone { id, name, cities });
        g.register("zone", id, name);
    }
}

pub fn generate(g: &mut Gen, w: &World) {
    zones_and_teams(g, w);
    assignments(g, w);
}

pub fn zones_and_teams(g: &mut Gen, w: &World) {
    let created = g.time_between(g.start_us - 25 * DAY_US, g.start_us - 20 * DAY_US);
    let admin = w.employees[0].id;
    for (i, zone) in w.zones.iter().enumerate() {
        let stamp = g.stamp(created + i as i64 * HOUR_US);
        let mut d = g.doc("dispatch/zones", zone.id, stamp, true);
        d.set("name", zone.name);
        d.set("createdBy", admin);
        d.set("cities", json!(zone.cities));
        let zips: Vec<&str> = CITIES
            .iter()
            .filter(|c| zone.cities.contains(&c.name))
            .flat_map(|c| c.zips.iter().copied())
            .collect();
        d.set("zips", json!(zips));
        let techs: Vec<i64> = w
            .technicians
            .iter()
            .enumerate()
            .filter(|(t, _)| t % w.zones.len() == i)
            .map(|(_, t)| t.id)
            .collect();
        d.set("technicians", json!(techs));
        let units: Vec<i64> = w.business_units.iter().map(|b| b.id).collect();
        d.set("businessUnits", json!(units));
        d.set("serviceDaysEnabled", true);
        let days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];
        d.set("serviceDays", json!(days));
        g.emit(d);
    }
    for name in TEAMS {
        let id = g.id();
        let stamp = g.stamp(created);
        let mut d = g.doc("dispatch/teams", id, stamp, true);
        d.set("name", *name);
        d.set("createdBy", admin);
        g.emit(d);
    }
}

pub fn assignments(g: &mut Gen, w: &World) {
    let dispatchers: Vec<i64> = w.employees.iter().map(|e| e.id).collect();
    for job in &w.jobs {
        for appt in &job.appointments {
            for &t in &appt.technicians {
                let tech = &w.technicians[t];
                let id = g.id();
                // Dispatch assigns ahead of the visit, after the booking.
                let assigned = g.time_between(job.stamp.created_us, appt.start_us - HOUR_US);
                let finished = matches!(appt.status, "Done" | "Canceled");
                let stamp = g.stamp_at(assigned, if finished { appt.end_us } else { assigned });
                let canceled = appt.status == "Canceled";
                let status = match appt.status {
                    "Done" => "Done",
                    "Working" => "Working",
                    "Dispatched" => "Dispatched",
                    _ => "Scheduled",
                };
                let mut d = g.doc("dispatch/appointment-assignments", id, stamp, !canceled);
                d.set("appointmentId", appt.id);
                d.set("jobId", job.id);
                d.set("technicianId", tech.id);
                d.set("technicianName", tech.name.as_str());
                let by = dispatchers[g.rng.gen_range(0..dispatchers.len())];
                d.set("assignedById", by);
                d.set("assignedOn", format_time(assigned));
                d.set("status", status);
                d.set("isPaused", appt.status == "Hold");
                g.emit(d);
            }
        }
    }
}
