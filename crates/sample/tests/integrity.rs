//! Records refer only to records that exist, and the numbers that should agree do.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use common::{FIRST_ID, docs, sample};

type Docs = BTreeMap<String, BTreeMap<i64, Value>>;

fn id(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("{v} is not an id"))
}

fn cents(v: &Value) -> i64 {
    let text = v.as_str().expect("money is text");
    let (whole, frac) = text.split_once('.').expect("two decimals");
    whole.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
}

fn exists(all: &Docs, resource: &str, key: i64) -> bool {
    all[resource].contains_key(&key)
}

#[test]
fn ids_are_consecutive_and_unique() {
    let data = sample(5, 40);
    let mut ids: Vec<i64> = data.resources.values().flatten().map(|r| r.id).collect();
    ids.sort_unstable();
    let expected: Vec<i64> = (FIRST_ID..data.next_id).collect();
    assert_eq!(ids, expected);
    for records in data.resources.values() {
        assert!(
            records.windows(2).all(|w| w[0].id < w[1].id),
            "ordered by id"
        );
    }
}

#[test]
fn crm_references_hold() {
    let data = sample(21, 40);
    let all = docs(&data);
    for loc in all["crm/locations"].values() {
        assert!(exists(&all, "crm/customers", id(&loc["customerId"])));
    }
    for r in &data.resources["crm/customers/contacts"] {
        let doc = &all["crm/customers/contacts"][&r.id];
        assert_eq!(r.parent_id, Some(id(&doc["customerId"])));
        assert!(exists(&all, "crm/customers", id(&doc["customerId"])));
    }
    for r in &data.resources["crm/locations/contacts"] {
        let doc = &all["crm/locations/contacts"][&r.id];
        assert_eq!(r.parent_id, Some(id(&doc["locationId"])));
        assert!(exists(&all, "crm/locations", id(&doc["locationId"])));
    }
    for lead in all["crm/leads"].values() {
        if let Some(customer) = lead["customerId"].as_i64() {
            assert!(exists(&all, "crm/customers", customer));
            assert_eq!(
                all["crm/locations"][&id(&lead["locationId"])]["customerId"],
                customer
            );
        }
        assert!(exists(&all, "marketing/campaigns", id(&lead["campaignId"])));
    }
}

#[test]
fn jobs_appointments_and_assignments_agree() {
    let data = sample(22, 40);
    let all = docs(&data);
    let mut visits: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (appt_id, appt) in &all["jpm/appointments"] {
        let job = &all["jpm/jobs"][&id(&appt["jobId"])];
        assert_eq!(appt["customerId"], job["customerId"]);
        assert!(appt["start"].as_str() < appt["end"].as_str());
        visits.entry(id(&appt["jobId"])).or_default().push(*appt_id);
    }
    for (job_id, job) in &all["jpm/jobs"] {
        let location = &all["crm/locations"][&id(&job["locationId"])];
        assert_eq!(location["customerId"], job["customerId"]);
        assert!(exists(
            &all,
            "settings/business-units",
            id(&job["businessUnitId"])
        ));
        assert!(exists(&all, "jpm/job-types", id(&job["jobTypeId"])));
        assert!(exists(&all, "marketing/campaigns", id(&job["campaignId"])));
        assert_eq!(
            all["accounting/invoices"][&id(&job["invoiceId"])]["job"]["id"],
            *job_id
        );
        let mine = &visits[job_id];
        assert_eq!(job["appointmentCount"], mine.len() as i64);
        assert_eq!(job["firstAppointmentId"], *mine.first().unwrap());
        assert_eq!(job["lastAppointmentId"], *mine.last().unwrap());
        if job["jobStatus"] == "Completed" {
            assert!(job["completedOn"].is_string());
        }
    }
    for a in all["dispatch/appointment-assignments"].values() {
        let appt = &all["jpm/appointments"][&id(&a["appointmentId"])];
        assert_eq!(appt["jobId"], a["jobId"]);
        let tech = &all["settings/technicians"][&id(&a["technicianId"])];
        assert_eq!(tech["name"], a["technicianName"]);
        assert!(exists(&all, "settings/employees", id(&a["assignedById"])));
    }
    for tech in all["settings/technicians"].values() {
        assert!(exists(
            &all,
            "settings/business-units",
            id(&tech["businessUnitId"])
        ));
        assert!(exists(&all, "dispatch/zones", id(&tech["mainZoneId"])));
    }
}

#[test]
fn invoices_items_and_payments_add_up() {
    let data = sample(23, 40);
    let all = docs(&data);
    let skus: BTreeSet<i64> = [
        "pricebook/services",
        "pricebook/materials",
        "pricebook/equipment",
    ]
    .iter()
    .flat_map(|r| all[*r].keys().copied())
    .collect();
    let mut paid: BTreeMap<i64, i64> = BTreeMap::new();
    for p in all["accounting/payments"].values() {
        for applied in p["appliedTo"].as_array().unwrap() {
            let invoice = &all["accounting/invoices"][&id(&applied["appliedTo"])];
            assert_eq!(invoice["customer"]["id"], p["customer"]["id"]);
            *paid.entry(id(&applied["appliedTo"])).or_default() += cents(&applied["appliedAmount"]);
        }
    }
    let mut balances: BTreeMap<i64, i64> = BTreeMap::new();
    let mut with_items = 0;
    for (invoice_id, inv) in &all["accounting/invoices"] {
        let job = &all["jpm/jobs"][&id(&inv["job"]["id"])];
        assert_eq!(inv["customer"]["id"], job["customerId"]);
        assert_eq!(inv["location"]["id"], job["locationId"]);
        assert_eq!(inv["businessUnit"]["id"], job["businessUnitId"]);
        let customer = &all["crm/customers"][&id(&inv["customer"]["id"])];
        assert_eq!(inv["customer"]["name"], customer["name"]);
        let items = inv["items"].as_array().unwrap();
        let mut sum = 0;
        for item in items {
            let record = &all["accounting/invoice-items"][&id(&item["id"])];
            assert_eq!(record["invoiceId"], *invoice_id);
            assert!(skus.contains(&id(&item["skuId"])));
            sum += cents(&item["total"]);
        }
        with_items += usize::from(!items.is_empty());
        assert_eq!(cents(&inv["subTotal"]), sum);
        assert_eq!(cents(&inv["total"]), sum + cents(&inv["salesTax"]));
        let owed = cents(&inv["total"]) - paid.get(invoice_id).copied().unwrap_or(0);
        assert_eq!(cents(&inv["balance"]), owed);
        *balances.entry(id(&inv["customer"]["id"])).or_default() += owed;
    }
    assert!(
        with_items * 2 > all["accounting/invoices"].len(),
        "most jobs are billed"
    );
    assert!(!paid.is_empty());
    for (customer_id, customer) in &all["crm/customers"] {
        let owed = balances.get(customer_id).copied().unwrap_or(0);
        assert_eq!(
            (customer["balance"].as_f64().unwrap() * 100.0).round() as i64,
            owed
        );
    }
    let items = all["accounting/invoice-items"].len();
    let listed: usize = all["accounting/invoices"]
        .values()
        .map(|i| i["items"].as_array().unwrap().len())
        .sum();
    assert_eq!(items, listed, "every invoice item is on its invoice");
}

#[test]
fn counts_follow_scale() {
    let small = sample(9, 50);
    let large = sample(9, 200);
    let count = |d: &fieldgate_sample::SampleData, r: &str| d.resources[r].len();
    assert_eq!(count(&small, "crm/customers"), 50);
    assert_eq!(count(&large, "crm/customers"), 200);
    assert_eq!(count(&large, "jpm/jobs"), 400);
    assert_eq!(count(&large, "accounting/invoices"), 400);
    let locations = count(&large, "crm/locations") as f64 / 200.0;
    assert!(
        (1.1..1.45).contains(&locations),
        "{locations} locations per customer"
    );
    let appts = count(&large, "jpm/appointments") as f64 / 400.0;
    assert!((1.1..1.4).contains(&appts), "{appts} appointments per job");
    let contacts = count(&large, "crm/customers/contacts") as f64 / 200.0;
    assert!(
        (1.3..1.7).contains(&contacts),
        "{contacts} contacts per customer"
    );
    let payments = count(&large, "accounting/payments") as f64 / 400.0;
    assert!(
        (0.4..0.9).contains(&payments),
        "{payments} payments per invoice"
    );
    assert!(count(&large, "settings/technicians") > count(&small, "settings/technicians"));
    assert_eq!(count(&large, "settings/business-units"), 5);
    assert_eq!(count(&large, "jpm/job-types"), 10);

    let records: Vec<_> = large.resources.values().flatten().collect();
    let inactive = records.iter().filter(|r| !r.active).count() as f64 / records.len() as f64;
    assert!((0.02..0.09).contains(&inactive), "{inactive} inactive");
}
