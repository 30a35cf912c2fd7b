//! Accounting: one invoice per job (ServiceTitan opens it with the job; lines are added when
//! the work is done), its lines as invoice items, and the payments applied to it.

use fieldgate_store::format_time;
use rand::Rng;
use serde_json::{Map, Value, json};

use crate::fake::{money, pick};
use crate::state::{DAY_US, Gen, HOUR_US, Stamp};
use crate::world::{Job, JobStatus, SkuKind, World};

/// Texas state and local sales tax, in basis points.
const TAX_RATE_BP: i64 = 825;

/// An invoice's sums in cents.
pub struct Totals {
    pub sub: i64,
    pub tax: i64,
    pub total: i64,
}

pub fn totals(w: &World, job: &Job) -> Totals {
    let mut sub = 0;
    let mut taxable = 0;
    for item in &job.items {
        let sku = &w.skus[item.sku];
        let line = sku.price_cents * item.quantity;
        sub += line;
        if sku.taxable {
            taxable += line;
        }
    }
    // Rounded half up to the cent, as tax is.
    let tax = (taxable * TAX_RATE_BP + 5_000) / 10_000;
    Totals {
        sub,
        tax,
        total: sub + tax,
    }
}

struct Payment {
    id: i64,
    at_us: i64,
    cents: i64,
    type_index: usize,
}

pub fn generate(g: &mut Gen, w: &mut World) {
    let item_keys = g.item_keys("accounting/invoices", "items");
    let mut balances = vec![0; w.customers.len()];
    for job in &w.jobs {
        let t = totals(w, job);
        let payment = plan_payment(g, w, job, t.total);
        let paid = payment.as_ref().map_or(0, |p| p.cents);
        balances[job.customer] += t.total - paid;
        invoice(g, w, job, &t, payment.as_ref(), &item_keys);
        if let Some(p) = payment {
            record_payment(g, w, job, &p);
        }
    }
    for (customer, balance) in w.customers.iter_mut().zip(balances) {
        customer.balance_cents = balance;
    }
}

/// Four in five finished, billable jobs are paid: most in full, some in part.
fn plan_payment(g: &mut Gen, w: &World, job: &Job, total: i64) -> Option<Payment> {
    let done = job.completed_us?;
    if total == 0 || !g.rng.gen_bool(0.8) {
        return None;
    }
    let commercial = w.customers[job.customer].commercial;
    let delay = if commercial {
        g.rng.gen_range(5..40) * DAY_US
    } else {
        g.rng.gen_range(0..3 * DAY_US)
    };
    let at_us = done + delay;
    if at_us > g.now_us {
        return None;
    }
    let cents = if g.rng.gen_bool(0.9) {
        total
    } else {
        total / 2
    };
    // Cash, Check, Credit Card, ACH, Financing.
    let type_index = if commercial {
        *pick(&mut g.rng, &[1, 3])
    } else {
        *pick(&mut g.rng, &[0, 1, 2, 2, 2, 2, 2, 4])
    };
    Some(Payment {
        id: g.id(),
        at_us,
        cents,
        type_index: type_index.min(w.payment_types.len() - 1),
    })
}

fn invoice(
    g: &mut Gen,
    w: &World,
    job: &Job,
    t: &Totals,
    payment: Option<&Payment>,
    item_keys: &[String],
) {
    let jt = &w.job_types[job.job_type];
    let customer = &w.customers[job.customer];
    let location = &w.locations[job.location];
    let bu = &w.business_units[jt.business_unit];
    let invoiced_us = job.completed_us.unwrap_or(job.stamp.created_us);
    let last_change = payment.map_or(job.stamp.modified_us, |p| p.at_us);
    let stamp = g.stamp_at(job.stamp.created_us, last_change.max(job.stamp.modified_us));

    let technician = job
        .appointments
        .last()
        .map(|a| w.technicians[a.technicians[0]].id);
    let mut items: Vec<Value> = Vec::new();
    for (order, item) in job.items.iter().enumerate() {
        let sku = &w.skus[item.sku];
        let item_stamp = g.stamp_at(invoiced_us, invoiced_us);
        let mut d = g.doc("accounting/invoice-items", item.id, item_stamp, job.active);
        d.set("invoiceId", job.invoice_id);
        d.set("skuId", sku.id);
        d.set("skuName", sku.code.as_str());
        d.set("displayName", sku.name.as_str());
        d.set("description", format!("<p>{}</p>", sku.name));
        d.set("type", sku.kind.as_str());
        d.set("quantity", format!("{}.00", item.quantity));
        d.set("price", money(sku.price_cents));
        d.set("memberPrice", money(sku.price_cents * 85 / 100));
        d.set("total", money(sku.price_cents * item.quantity));
        d.set("cost", money(sku.cost_cents));
        d.set("totalCost", money(sku.cost_cents * item.quantity));
        d.set("order", order as i64);
        d.set("taxable", sku.taxable);
        d.set("inventory", sku.kind == SkuKind::Material);
        d.set("isChargeable", true);
        d.set("addOn", false);
        d.set("membershipTypeId", 0);
        d.set("technicianId", technician);
        d.set("serviceDate", format_time(invoiced_us));
        d.set(
            "soldHours",
            (sku.kind == SkuKind::Service).then_some(sku.hours),
        );
        d.set("businessUnit", json!({ "id": bu.id, "name": bu.name }));
        let nested: Map<String, Value> = item_keys
            .iter()
            .filter_map(|k| d.get(k).map(|v| (k.clone(), v.clone())))
            .collect();
        items.push(Value::Object(nested));
        g.emit(d);
    }

    let mut d = g.doc("accounting/invoices", job.invoice_id, stamp, job.active);
    let jt_name = jt.name;
    d.set("referenceNumber", job.number.as_str());
    d.set(
        "job",
        json!({ "id": job.id, "number": job.number, "type": jt_name }),
    );
    d.set(
        "customer",
        json!({ "id": customer.id, "name": customer.name }),
    );
    d.set(
        "location",
        json!({ "id": location.id, "name": location.name }),
    );
    d.merge("customerAddress", customer.address.crm_json());
    d.merge("locationAddress", location.address.crm_json());
    d.set("businessUnit", json!({ "id": bu.id, "name": bu.name }));
    d.set("invoiceDate", format_time(invoiced_us));
    let (term, days) = if customer.commercial {
        ("Net 30", 30)
    } else {
        ("Due Upon Receipt", 0)
    };
    d.set("termName", term);
    d.set("dueDate", format_time(invoiced_us + days * DAY_US));
    d.set("subTotal", money(t.sub));
    d.set("salesTax", money(t.tax));
    d.set("total", money(t.total));
    let paid = payment.map_or(0, |p| p.cents);
    d.set("balance", money(t.total - paid));
    d.set("discountTotal", money(0));
    let paid_on = payment
        .filter(|p| p.cents == t.total)
        .map(|p| format_time(p.at_us));
    d.set("paidOn", paid_on);
    d.set("summary", job.summary);
    d.set("items", items);
    d.set("invoiceConfiguration", "JobInvoice");
    let done = job.status == JobStatus::Completed;
    d.set(
        "reviewStatus",
        if done { "Reviewed" } else { "NeedsReview" },
    );
    let sent = if !done {
        "NotSent"
    } else if g.rng.gen_bool(0.5) {
        "Opened"
    } else {
        "Sent"
    };
    d.set("sentStatus", sent);
    g.emit(d);
}

fn record_payment(g: &mut Gen, w: &World, job: &Job, p: &Payment) {
    let customer = &w.customers[job.customer];
    let bu = &w.business_units[w.job_types[job.job_type].business_unit];
    let kind = &w.payment_types[p.type_index];
    let clerk = pick(&mut g.rng, &w.employees).name.clone();
    let modified = p.at_us + g.rng.gen_range(0..HOUR_US);
    let stamp: Stamp = g.stamp_at(p.at_us, modified);
    let active = g.active();
    let mut d = g.doc("accounting/payments", p.id, stamp, active);
    let applied = json!([{
        "appliedId": p.id,
        "appliedTo": job.invoice_id,
        "appliedAmount": money(p.cents),
        "appliedOn": format_time(p.at_us),
        "appliedBy": clerk,
        "appliedToReferenceNumber": job.number,
    }]);
    d.set("appliedTo", applied);
    d.set("total", money(p.cents));
    d.set("unappliedAmount", money(0));
    d.set(
        "customer",
        json!({ "id": customer.id, "name": customer.name }),
    );
    d.set("businessUnit", json!({ "id": bu.id, "name": bu.name }));
    d.set("date", format_time(p.at_us));
    d.set("type", kind.name.as_str());
    d.set("typeId", kind.id.to_string());
    d.set("referenceNumber", format!("PMT-{}", job.number));
    d.set("createdBy", clerk);
    let check = (kind.name == "Check").then(|| g.rng.gen_range(1000..9999).to_string());
    d.set("checkNumber", check);
    let auth = (kind.name == "Credit Card").then(|| format!("{:06}", g.rng.gen_range(0..999_999)));
    d.set("authCode", auth);
    d.set("memo", json!(null));
    g.emit(d);
}
