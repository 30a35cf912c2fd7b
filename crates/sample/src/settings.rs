//! The company itself: business units, tag types, office employees and technicians, plus the
//! marketing campaigns and payment types other records point at.

use fieldgate_store::format_time;
use rand::Rng;
use serde_json::json;

use crate::data;
use crate::dispatch;
use crate::fake::{self, Address, Person, pick, round2};
use crate::state::{DAY_US, Gen};
use crate::world::{Named, Technician, World};

const BUSINESS_UNITS: &[(&str, &str)] = &[
    ("HVAC Service", "HVAC"),
    ("HVAC Install", "HVAC"),
    ("Plumbing Service", "Plumbing"),
    ("Plumbing Install", "Plumbing"),
    ("Electrical Service", "Electrical"),
];

const TAG_TYPES: &[(&str, &str)] = &[
    ("Member", "MBR"),
    ("VIP", "VIP"),
    ("Warranty", "WAR"),
    ("Do Not Call", "DNC"),
    ("Second Opinion", "2ND"),
    ("Commercial", "COM"),
    ("New Construction", "NEW"),
    ("Recall", "RCL"),
];

const OFFICE_ROLES: &[&str] = &[
    "Owner",
    "Admin",
    "CSR",
    "CSR",
    "CSR",
    "Dispatch",
    "Dispatch",
    "Accounting",
    "FieldManager",
    "SalesManager",
    "GeneralOffice",
];

const CAMPAIGNS: &[(&str, &str)] = &[
    ("Google Ads", "Paid Search"),
    ("Google Local Services", "Paid Search"),
    ("Yard Signs", "Signage"),
    ("Customer Referral", "Referral"),
    ("Facebook", "Social"),
    ("Direct Mail - Spring", "Mail"),
    ("Website", "Organic"),
];

const PAYMENT_TYPES: &[&str] = &["Cash", "Check", "Credit Card", "ACH", "Financing"];

pub fn generate(g: &mut Gen, w: &mut World, scale: usize) {
    // The company was set up before any customer came in.
    let setup_us = g.start_us - 30 * DAY_US;
    let company = format!(
        "{} Home Services",
        pick(&mut g.rng, data::BUSINESS_PREFIXES)
    );
    let office = Address::random(&mut g.rng);

    for (name, trade) in BUSINESS_UNITS {
        let id = g.id();
        let created = g.time_between(setup_us, setup_us + 5 * DAY_US);
        let stamp = g.stamp(created);
        let mut d = g.doc("settings/business-units", id, stamp, true);
        d.set("name", *name);
        d.set("officialName", format!("{company} - {name}"));
        d.set("email", format!("{}@example.com", trade.to_lowercase()));
        d.set("phoneNumber", fake::phone(&mut g.rng, office.area));
        d.set("currency", "USD");
        d.set("defaultTaxRate", 8.25);
        d.set("invoiceHeader", company.clone());
        d.set("invoiceMessage", "Thank you for your business!");
        d.merge("address", office.crm_json());
        g.emit(d);
        g.register("businessUnit", id, name);
        w.business_units.push(Named {
            id,
            name: name.to_string(),
        });
    }

    for (i, (name, code)) in TAG_TYPES.iter().enumerate() {
        let id = g.id();
        let created = g.time_between(setup_us, g.start_us);
        let stamp = g.stamp(created);
        let active = g.active();
        let mut d = g.doc("settings/tag-types", id, stamp, active);
        d.set("name", *name);
        d.set("code", *code);
        d.set("color", data::COLORS[i % data::COLORS.len()]);
        d.set("isVisibleOnDispatchBoard", i < 4);
        g.emit(d);
        g.register("tagType", id, name);
        w.tag_types.push(id);
    }

    employees(g, w, scale, setup_us);
    dispatch::plan_zones(g, w);
    technicians(g, w, scale, setup_us);
    campaigns(g, w, setup_us);
}

fn employees(g: &mut Gen, w: &mut World, scale: usize, setup_us: i64) {
    let count = 8 + scale / 25;
    let mut owner = None;
    for i in 0..count {
        let id = g.id();
        let role = OFFICE_ROLES[i % OFFICE_ROLES.len()];
        let person = Person::random(&mut g.rng);
        let created = g.time_between(setup_us, g.now_us - 30 * DAY_US);
        let stamp = g.stamp(created);
        let active = i == 0 || g.active();
        let mut d = g.doc("settings/employees", id, stamp, active);
        d.set("name", person.full());
        d.set("firstName", person.first.as_str());
        d.set("lastName", person.last.as_str());
        d.set("email", person.email(&mut g.rng));
        d.set("loginName", login(&person));
        d.set("role", role);
        d.set("userId", 1_000 + i as i64);
        d.set("agentId", if role == "CSR" { 200 + i as i64 } else { 0 });
        d.set("hourlyRate", round2(g.rng.gen_range(18.0..42.0)));
        d.set("businessUnitId", w.business_units[0].id);
        d.set("managerId", owner.map_or(json!(null), |o: i64| json!(o)));
        d.set("startDate", format_time(created));
        if !active {
            d.set("terminationDate", format_time(stamp.modified_us));
        }
        owner.get_or_insert(id);
        g.emit(d);
        g.register("employee", id, &person.full());
        w.employees.push(Named {
            id,
            name: person.full(),
        });
    }
}

fn technicians(g: &mut Gen, w: &mut World, scale: usize, setup_us: i64) {
    let count = 10 + scale / 15;
    for i in 0..count {
        let id = g.id();
        let person = Person::random(&mut g.rng);
        let bu = &w.business_units[i % w.business_units.len()];
        let zone = &w.zones[i % w.zones.len()];
        let created = g.time_between(setup_us, g.now_us - 60 * DAY_US);
        let stamp = g.stamp(created);
        let active = g.active();
        let mut d = g.doc("settings/technicians", id, stamp, active);
        d.set("name", person.full());
        d.set("firstName", person.first.as_str());
        d.set("lastName", person.last.as_str());
        d.set("email", person.email(&mut g.rng));
        d.set("loginName", login(&person));
        d.set("mobilePhone", fake::phone(&mut g.rng, "469"));
        d.set("businessUnitId", bu.id);
        d.set("mainZoneId", zone.id);
        d.set("zoneIds", json!([zone.id]));
        d.set("team", if i % 2 == 0 { "Red Team" } else { "Blue Team" });
        let position = if bu.name.ends_with("Install") {
            "Installer"
        } else {
            "Service"
        };
        d.set("positions", json!([position]));
        d.set("userId", 2_000 + i as i64);
        d.set("hourlyRate", round2(g.rng.gen_range(24.0..48.0)));
        d.set("burdenRate", round2(g.rng.gen_range(4.0..9.0)));
        d.set("commissionRate", round2(g.rng.gen_range(0.0..8.0)));
        d.set("soldByRate", round2(g.rng.gen_range(0.0..5.0)));
        d.set("dailyGoal", (g.rng.gen_range(8..20) * 100) as f64);
        d.set("isManagedTech", true);
        d.set("shiftStart", "07:00:00");
        d.set("shiftEnd", "17:00:00");
        d.set("startDate", format_time(created));
        d.set("status", "Idle");
        d.set("licenseType", "ManagedTech");
        g.emit(d);
        g.register("technician", id, &person.full());
        w.technicians.push(Technician {
            id,
            name: person.full(),
            business_unit_id: bu.id,
        });
    }
}

fn campaigns(g: &mut Gen, w: &mut World, setup_us: i64) {
    for (name, medium) in CAMPAIGNS {
        let id = g.id();
        let created = g.time_between(setup_us, g.start_us + 90 * DAY_US);
        let stamp = g.stamp(created);
        let mut d = g.doc("marketing/campaigns", id, stamp, true);
        d.set("name", *name);
        d.set("medium", *medium);
        d.set("source", *name);
        d.set("businessUnit", w.business_units[0].name.as_str());
        d.set("isDefaultCampaign", *name == "Website");
        g.emit(d);
        g.register("campaign", id, name);
        w.campaigns.push(Named {
            id,
            name: name.to_string(),
        });
    }
    for name in PAYMENT_TYPES {
        let id = g.id();
        let stamp = g.stamp(setup_us);
        let mut d = g.doc("accounting/payment-types", id, stamp, true);
        d.set("name", *name);
        g.emit(d);
        w.payment_types.push(Named {
            id,
            name: name.to_string(),
        });
    }
}

fn login(person: &Person) -> String {
    format!("{}{}", &person.first[..1], person.last).to_lowercase()
}
