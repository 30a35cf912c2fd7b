//! What the real service does around some creates: the locations and contacts sent with a
//! customer or a location, the appointments and invoice of a new job, the numbering of an
//! added appointment, and the checks that keep those records consistent.

use fieldgate_store::Dataset;
use serde_json::{Map, Value, json};

use super::query::parse_time;
use crate::error::ApiError;
use crate::state::AppState;

/// A record created along with the one the request names.
pub struct Extra {
    pub resource: &'static str,
    pub module: &'static str,
    pub given: Map<String, Value>,
    /// The record it is listed under (a contact's customer or location), if any.
    pub owner: Option<Owner>,
}

/// Which record of a create another one belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The record the request names.
    Main,
    /// Another record made with it: `extras[i]`.
    Extra(usize),
}

impl Extra {
    fn new(resource: &'static str, module: &'static str, given: Map<String, Value>) -> Self {
        Extra {
            resource,
            module,
            given,
            owner: None,
        }
    }

    fn owned_by(mut self, owner: Owner) -> Self {
        self.owner = Some(owner);
        self
    }
}

/// The contacts sent inside a customer or location: records of their own, listed under it.
fn contacts(given: &mut Map<String, Value>, resource: &'static str, owner: Owner) -> Vec<Extra> {
    take_objects(given, "contacts")
        .into_iter()
        .map(|contact| Extra::new(resource, "crm", contact).owned_by(owner))
        .collect()
}

fn invalid() -> ApiError {
    ApiError::bad_request("One or more validation errors occurred.")
}

fn take_objects(given: &mut Map<String, Value>, field: &str) -> Vec<Map<String, Value>> {
    let items = match given.remove(field) {
        Some(Value::Array(items)) => items,
        _ => vec![],
    };
    items
        .into_iter()
        .filter_map(|v| {
            if let Value::Object(o) = v {
                Some(o)
            } else {
                None
            }
        })
        .collect()
}

async fn doc_of(
    state: &AppState,
    dataset: Dataset,
    resource: &str,
    id: i64,
) -> Result<Option<Value>, ApiError> {
    let record = state.store.get_record(dataset, resource, None, id).await?;
    Ok(record.and_then(|r| serde_json::from_str(&r.doc).ok()))
}

/// Appointment windows must end after they start.
fn check_window(error: &mut Option<ApiError>, path: &str, appointment: &Map<String, Value>) {
    let time = |name: &str| {
        appointment
            .get(name)
            .and_then(Value::as_str)
            .and_then(parse_time)
    };
    if let (Some(start), Some(end)) = (time("start"), time("end"))
        && end <= start
    {
        let e = error.take().unwrap_or_else(invalid);
        *error = Some(e.with_error(&format!("{path}end"), "The end must be after the start."));
    }
}

/// Validates the request and takes out what becomes records of their own.
pub async fn prepare(
    state: &AppState,
    dataset: Dataset,
    resource: &str,
    given: &mut Map<String, Value>,
) -> Result<Vec<Extra>, ApiError> {
    let mut error = None;
    let extras = match resource {
        "crm/customers" => {
            let mut extras = contacts(given, "crm/customers/contacts", Owner::Main);
            for mut location in take_objects(given, "locations") {
                let at = Owner::Extra(extras.len());
                let theirs = contacts(&mut location, "crm/locations/contacts", at);
                extras.push(Extra::new("crm/locations", "crm", location));
                extras.extend(theirs);
            }
            extras
        }
        "crm/locations" => contacts(given, "crm/locations/contacts", Owner::Main),
        "jpm/jobs" => {
            let appointments = take_objects(given, "appointments");
            if appointments.is_empty() {
                error = Some(
                    invalid().with_error("appointments", "A job needs at least one appointment."),
                );
            }
            for (i, a) in appointments.iter().enumerate() {
                check_window(&mut error, &format!("appointments[{i}]."), a);
            }
            let customer = given.get("customerId").and_then(Value::as_i64);
            let location = given.get("locationId").and_then(Value::as_i64);
            if let (Some(customer), Some(location)) = (customer, location)
                && let Some(doc) = doc_of(state, dataset, "crm/locations", location).await?
                && doc["customerId"]
                    .as_i64()
                    .is_some_and(|owner| owner != customer)
            {
                let e = error.take().unwrap_or_else(invalid);
                error = Some(e.with_error(
                    "locationId",
                    format!(
                        "Location {location} belongs to customer {}, not {customer}.",
                        doc["customerId"]
                    ),
                ));
            }
            let mut extras: Vec<Extra> = appointments
                .into_iter()
                .map(|given| Extra::new("jpm/appointments", "jpm", given))
                .collect();
            // A job opens its invoice when it is booked.
            extras.push(Extra::new("accounting/invoices", "accounting", Map::new()));
            extras
        }
        "jpm/appointments" => {
            check_window(&mut error, "", given);
            vec![]
        }
        _ => vec![],
    };
    error.map_or(Ok(extras), Err)
}

/// Fills in what ties the records together once their ids are known.
pub async fn link(
    state: &AppState,
    dataset: Dataset,
    resource: &str,
    id: i64,
    given: &mut Map<String, Value>,
    extras: &mut [Extra],
) -> Result<(), ApiError> {
    // Each contact names what it is listed under.
    let ids: Vec<Value> = extras.iter().map(|e| e.given["id"].clone()).collect();
    for extra in extras.iter_mut() {
        let owner = match extra.owner {
            Some(Owner::Main) => Value::from(id),
            Some(Owner::Extra(at)) => ids[at].clone(),
            None => continue,
        };
        match extra.resource {
            "crm/customers/contacts" => extra.given.insert("customerId".into(), owner),
            "crm/locations/contacts" => extra.given.insert("locationId".into(), owner),
            _ => None,
        };
    }
    match resource {
        "crm/customers" => {
            for extra in extras.iter_mut().filter(|e| e.resource == "crm/locations") {
                extra.given.insert("customerId".into(), id.into());
            }
        }
        "jpm/jobs" => {
            let number = id.to_string();
            given.insert("jobNumber".into(), number.clone().into());
            given.insert("jobStatus".into(), "Scheduled".into());
            given.insert("isAutoDispatched".into(), false.into());
            let appointment_ids: Vec<&Value> = extras
                .iter()
                .filter(|e| e.resource == "jpm/appointments")
                .filter_map(|e| e.given.get("id"))
                .collect();
            given.insert("appointmentCount".into(), appointment_ids.len().into());
            if let (Some(first), Some(last)) = (appointment_ids.first(), appointment_ids.last()) {
                given.insert("firstAppointmentId".into(), (*first).clone());
                given.insert("lastAppointmentId".into(), (*last).clone());
            }
            let customer_id = given
                .get("customerId")
                .and_then(Value::as_i64)
                .unwrap_or_default();
            let location_id = given
                .get("locationId")
                .and_then(Value::as_i64)
                .unwrap_or_default();
            let customer = doc_of(state, dataset, "crm/customers", customer_id)
                .await?
                .unwrap_or_default();
            let location = doc_of(state, dataset, "crm/locations", location_id)
                .await?
                .unwrap_or_default();
            let mut n = 0;
            for extra in extras.iter_mut() {
                let fields = &mut extra.given;
                if extra.resource == "jpm/appointments" {
                    n += 1;
                    fields.insert("jobId".into(), id.into());
                    fields.insert("appointmentNumber".into(), format!("{number}-{n}").into());
                    fields.insert("status".into(), "Scheduled".into());
                    fields.insert("customerId".into(), customer_id.into());
                    fields.insert("locationId".into(), location_id.into());
                } else {
                    given.insert("invoiceId".into(), fields["id"].clone());
                    fields.insert("referenceNumber".into(), number.clone().into());
                    fields.insert(
                        "job".into(),
                        json!({"id": id, "number": number, "type": null}),
                    );
                    fields.insert(
                        "customer".into(),
                        json!({"id": customer_id, "name": customer["name"]}),
                    );
                    fields.insert(
                        "location".into(),
                        json!({"id": location_id, "name": location["name"]}),
                    );
                    for money in ["subTotal", "salesTax", "total", "balance", "discountTotal"] {
                        fields.insert(money.into(), "0.00".into());
                    }
                    fields.insert("items".into(), json!([]));
                }
            }
        }
        "jpm/appointments" => {
            let job_id = given
                .get("jobId")
                .and_then(Value::as_i64)
                .unwrap_or_default();
            let job = doc_of(state, dataset, "jpm/jobs", job_id)
                .await?
                .unwrap_or_default();
            let count = job["appointmentCount"].as_i64().unwrap_or(0);
            let number = job["jobNumber"].as_str().unwrap_or_default();
            given.insert(
                "appointmentNumber".into(),
                format!("{number}-{}", count + 1).into(),
            );
            given.insert("status".into(), "Scheduled".into());
            given.insert("customerId".into(), job["customerId"].clone());
            given.insert("locationId".into(), job["locationId"].clone());
        }
        _ => {}
    }
    Ok(())
}
