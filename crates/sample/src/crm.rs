//! CRM: customers, their locations and contacts, bookings and leads.

use fieldgate_store::format_time;
use rand::Rng;
use serde_json::json;

use crate::data;
use crate::fake::{self, Address, Person, dollars, guid_for, pick};
use crate::state::{DAY_US, Gen, HOUR_US};
use crate::world::{Customer, Location, World};

const CONTACT_TITLES: &[&str] = &["Homeowner", "Spouse", "Tenant", "Property Manager"];
const BOOKING_SOURCES: &[&str] = &["Website", "Google Local Services", "Angi", "Scheduling Pro"];

/// Plans customers and locations (their records wait for invoice balances) and writes the
/// contacts.
pub fn plan(g: &mut Gen, w: &mut World, scale: usize) {
    let first_us = g.start_us;
    let last_us = g.now_us - 2 * DAY_US;
    for _ in 0..scale {
        let id = g.id();
        let commercial = g.rng.gen_bool(0.2);
        let contact = Person::random(&mut g.rng);
        let address = Address::random(&mut g.rng);
        let name = if commercial {
            let prefix = pick(&mut g.rng, data::BUSINESS_PREFIXES);
            format!("{prefix} {}", pick(&mut g.rng, data::BUSINESS_WORDS))
        } else {
            contact.full()
        };
        let created = g.time_between(first_us, last_us);
        let customer = Customer {
            id,
            name,
            commercial,
            phone: fake::phone(&mut g.rng, address.area),
            email: contact.email(&mut g.rng),
            contact,
            address,
            stamp: g.stamp(created),
            active: g.active(),
            balance_cents: 0,
        };
        g.register("customer", id, &customer.name);
        w.customers.push(customer);
    }

    for c in 0..w.customers.len() {
        let extra = if w.customers[c].commercial { 0.6 } else { 0.12 };
        let count = 1 + usize::from(g.rng.gen_bool(extra));
        for n in 0..count {
            let id = g.id();
            let customer = &w.customers[c];
            let (address, name) = if n == 0 {
                (customer.address.clone(), customer.name.clone())
            } else {
                let a = Address::random(&mut g.rng);
                let name = format!("{} - {}", customer.name, a.street);
                (a, name)
            };
            let created = customer.stamp.created_us + n as i64 * g.rng.gen_range(0..90) * DAY_US;
            let stamp = g.stamp(created);
            let active = customer.active && g.active();
            let zone_id = w.zone_for(address.city);
            g.register("location", id, &name);
            w.locations.push(Location {
                id,
                customer: c,
                name,
                address,
                zone_id,
                stamp,
                active,
            });
        }
    }

    contacts(g, w);
}

fn contacts(g: &mut Gen, w: &World) {
    for customer in &w.customers {
        let mobile = g.rng.gen_bool(0.7);
        let kind = if mobile { "MobilePhone" } else { "Phone" };
        let phone = customer.phone.clone();
        customer_contact(g, customer, kind, &phone);
        if g.rng.gen_bool(0.5) {
            customer_contact(g, customer, "Email", &customer.email);
        }
        if g.rng.gen_bool(0.5) {
            person_contact(g, customer);
        }
    }
    for location in &w.locations {
        if !g.rng.gen_bool(0.3) {
            continue;
        }
        let id = g.id();
        let created = g.time_between(location.stamp.created_us, g.now_us);
        let stamp = g.stamp(created);
        let active = g.active();
        let mut d = g.doc("crm/locations/contacts", id, stamp, active);
        let phone = fake::phone(&mut g.rng, location.address.area);
        d.set("type", "Phone");
        d.set("value", phone.as_str());
        d.set("memo", "On-site contact");
        d.set(
            "phoneSettings",
            json!({ "phoneNumber": phone, "doNotText": false }),
        );
        d.set("locationId", location.id);
        d.parent_id = Some(location.id);
        g.emit(d);
    }
}

fn customer_contact(g: &mut Gen, customer: &Customer, kind: &str, value: &str) {
    let id = g.id();
    let created = customer.stamp.created_us + g.rng.gen_range(0..HOUR_US);
    let stamp = g.stamp(created);
    let active = g.active();
    let mut d = g.doc("crm/customers/contacts", id, stamp, active);
    d.set("type", kind);
    d.set("value", value);
    d.set(
        "memo",
        if kind == "Email" {
            "Invoices"
        } else {
            "Primary"
        },
    );
    let do_not_text = kind != "MobilePhone";
    let settings = json!({ "phoneNumber": customer.phone, "doNotText": do_not_text });
    d.set("phoneSettings", settings);
    d.set("customerId", customer.id);
    d.parent_id = Some(customer.id);
    g.emit(d);
}

/// A person in the newer contacts API, addressed by GUID.
fn person_contact(g: &mut Gen, customer: &Customer) {
    let id = g.id();
    let created = g.time_between(customer.stamp.created_us, g.now_us);
    let stamp = g.stamp(created);
    let active = g.active();
    let mut d = g.doc("crm/contacts", id, stamp, active);
    let person = if customer.commercial {
        Person::random(&mut g.rng)
    } else {
        customer.contact.clone()
    };
    d.set("id", guid_for(id));
    d.set("name", person.full());
    let title = if customer.commercial {
        "Office Manager"
    } else {
        *pick(&mut g.rng, CONTACT_TITLES)
    };
    d.set("title", title);
    d.set("isArchived", !active);
    g.emit(d);
}

/// Writes customers and locations (now that invoices set balances), bookings and leads.
pub fn finish(g: &mut Gen, w: &World, scale: usize) {
    for customer in &w.customers {
        let mut d = g.doc(
            "crm/customers",
            customer.id,
            customer.stamp,
            customer.active,
        );
        d.set("name", customer.name.as_str());
        d.set(
            "type",
            if customer.commercial {
                "Commercial"
            } else {
                "Residential"
            },
        );
        d.merge("address", customer.address.crm_json());
        d.set("balance", dollars(customer.balance_cents));
        d.set("taxExempt", customer.commercial && g.rng.gen_bool(0.1));
        d.set("nationalAccount", false);
        d.set("creditLimit", json!(null));
        d.set("creditLimitBalance", json!(null));
        d.set("mergedToId", json!(null));
        g.emit(d);
    }
    for location in &w.locations {
        let mut d = g.doc(
            "crm/locations",
            location.id,
            location.stamp,
            location.active,
        );
        d.set("name", location.name.as_str());
        d.set("customerId", w.customers[location.customer].id);
        d.merge("address", location.address.crm_json());
        d.set("zoneId", location.zone_id);
        d.set("taxExempt", false);
        d.set("mergedToId", json!(null));
        g.emit(d);
    }
    bookings(g, w, scale);
    leads(g, w, scale);
}

fn bookings(g: &mut Gen, w: &World, scale: usize) {
    for _ in 0..scale / 5 {
        let id = g.id();
        let person = Person::random(&mut g.rng);
        let address = Address::random(&mut g.rng);
        let created = g.time_between(g.now_us - 120 * DAY_US, g.now_us);
        let stamp = g.stamp(created);
        let active = g.active();
        let job_type = &w.job_types[g.rng.gen_range(0..w.job_types.len())];
        let summary = *pick(&mut g.rng, data::JOB_SUMMARIES[job_type.trade]);
        let mut d = g.doc("crm/bookings", id, stamp, active);
        d.set("name", person.full());
        d.merge("address", address.crm_json());
        d.set("customerType", "Residential");
        d.set(
            "start",
            format_time(created + g.rng.gen_range(1..10) * DAY_US),
        );
        d.set("source", *pick(&mut g.rng, BOOKING_SOURCES));
        d.set("externalId", format!("BK-{}", 100_000 + id % 900_000));
        d.set("summary", summary);
        d.set("jobTypeId", job_type.id);
        d.set(
            "businessUnitId",
            w.business_units[job_type.business_unit].id,
        );
        let status = *pick(&mut g.rng, &["New", "Accepted", "Dismissed"]);
        d.set("status", status);
        d.set("jobId", json!(null));
        d.set("dismissingReasonId", json!(null));
        g.emit(d);
    }
}

fn leads(g: &mut Gen, w: &World, scale: usize) {
    for _ in 0..scale / 4 {
        let id = g.id();
        let created = g.time_between(g.start_us, g.now_us);
        let stamp = g.stamp(created);
        let active = g.active();
        let mut d = g.doc("crm/leads", id, stamp, active);
        let status = *pick(&mut g.rng, &["Open", "Open", "Converted", "Dismissed"]);
        d.set("status", status);
        let job_type = &w.job_types[g.rng.gen_range(0..w.job_types.len())];
        d.set(
            "summary",
            *pick(&mut g.rng, data::JOB_SUMMARIES[job_type.trade]),
        );
        d.set("jobTypeId", job_type.id);
        d.set(
            "businessUnitId",
            w.business_units[job_type.business_unit].id,
        );
        // Converted leads became customers; the others are only a name and an address.
        if status == "Converted" {
            let l = &w.locations[g.rng.gen_range(0..w.locations.len())];
            d.set("customerId", w.customers[l.customer].id);
            d.set("locationId", l.id);
        } else {
            d.set("customerId", json!(null));
            d.set("locationId", json!(null));
        }
        let person = Person::random(&mut g.rng);
        let address = Address::random(&mut g.rng);
        d.set("leadCustomerName", person.full());
        d.set("leadEmail", person.email(&mut g.rng));
        d.set("leadPhone", fake::phone(&mut g.rng, address.area));
        d.set("leadStreet", address.street.as_str());
        d.set("leadUnit", address.unit.clone());
        d.set("leadCity", address.city);
        d.set("leadState", data::STATE);
        d.set("leadZip", address.zip);
        d.set("leadCountry", data::COUNTRY);
        let follow_up = (status == "Open").then(|| format_time(created + 3 * DAY_US));
        d.set("followUpDate", follow_up);
        d.set("dismissingReasonId", json!(null));
        d.set("bookingId", json!(null));
        g.emit(d);
    }
}
