//! Writes over HTTP: validation against the catalog, what a create builds around itself, and
//! what a write may not touch.

mod common;

use common::{CUSTOMER, SANDBOX, assert_api_error, spawn};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn bad_writes_name_each_bad_field_and_lose_nothing() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let url = format!(
        "{}/crm/v2/tenant/{CUSTOMER}/customers",
        app.api_url("integration")
    );
    let before = app
        .get_json(
            "integration",
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/customers?active=Any&includeTotal=true"),
        )
        .await;

    let send = |body: String, content_type: &'static str| {
        app.http
            .post(&url)
            .header("ST-App-Key", app.app_key())
            .header("Content-Type", content_type)
            .bearer_auth(&token)
            .body(body)
            .send()
    };
    let response = send(
        json!({"type": "Residential", "doNotMail": "yes"}).to_string(),
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_api_error(&body, 400);
    for field in ["name", "locations", "address", "doNotMail"] {
        assert!(body["errors"].get(field).is_some(), "{field} in {body}");
    }
    let response = send("{not json".into(), "application/json").await.unwrap();
    assert_eq!(response.status(), 400);
    let response = send("{}".into(), "text/plain").await.unwrap();
    assert_eq!(response.status(), 415);
    assert_api_error(&response.json().await.unwrap(), 415);

    let job = json!({"customerId": 1, "locationId": 2, "businessUnitId": 3, "jobTypeId": 4,
        "priority": "Normal", "campaignId": 5, "appointments": [{"start": "2025-01-01T10:00:00Z", "end": "2025-01-01T12:00:00Z"}]});
    let response = app
        .send(
            Method::POST,
            "integration",
            &token,
            &format!("/jpm/v2/tenant/{CUSTOMER}/jobs"),
            &job,
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["errors"]["customerId"][0]
            .as_str()
            .unwrap()
            .contains("crm/customers")
    );

    let after = app
        .get_json(
            "integration",
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/customers?active=Any&includeTotal=true"),
        )
        .await;
    assert_eq!(before["totalCount"], after["totalCount"]);
    app.stop().await;
}

#[tokio::test]
async fn jobs_are_created_with_their_appointments() {
    let app = spawn().await;
    let token = app.token(SANDBOX, "integration").await;
    let base = format!("/jpm/v2/tenant/{SANDBOX}");
    let job = app
        .get_json("integration", &token, &format!("{base}/jobs?pageSize=1"))
        .await["data"][0]
        .clone();
    let new = json!({"customerId": job["customerId"], "locationId": job["locationId"],
        "businessUnitId": job["businessUnitId"], "jobTypeId": job["jobTypeId"], "priority": "High",
        "campaignId": job["campaignId"], "summary": "No heat",
        "appointments": [{"start": "2030-01-01T10:00:00Z", "end": "2030-01-01T12:00:00Z"}]});
    let response = app
        .send(
            Method::POST,
            "integration",
            &token,
            &format!("{base}/jobs"),
            &new,
        )
        .await;
    let status = response.status();
    let created: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["summary"], "No heat");
    assert_eq!(created["customerId"], job["customerId"]);
    let id = created["id"].as_i64().unwrap();
    let appointments = app
        .get_json(
            "integration",
            &token,
            &format!("{base}/appointments?jobId={id}"),
        )
        .await;
    let data = appointments["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(
        data[0]["start"].as_str().unwrap().get(..19),
        Some("2030-01-01T10:00:00")
    );
    assert_eq!(created["firstAppointmentId"], data[0]["id"]);
    assert_eq!(created["jobStatus"], "Scheduled");
    assert_eq!(created["jobNumber"], id.to_string());
    assert_eq!(data[0]["customerId"], job["customerId"]);
    assert_eq!(data[0]["appointmentNumber"], format!("{id}-1"));
    let invoice_id = created["invoiceId"].as_i64().unwrap();
    let invoice = app
        .get_json(
            "integration",
            &token,
            &format!("/accounting/v2/tenant/{SANDBOX}/invoices?ids={invoice_id}"),
        )
        .await;
    assert_eq!(invoice["data"][0]["job"]["id"], id);
    assert_eq!(invoice["data"][0]["total"], "0.00");

    // Inconsistent jobs are refused, each problem named.
    let post = |body: Value| {
        app.http
            .post(format!("{}{base}/jobs", app.api_url("integration")))
            .header("ST-App-Key", app.app_key())
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let mut bad = new.clone();
    bad["appointments"] = json!([{"start": "2030-01-01T10:00:00Z", "end": "2030-01-01T09:00:00Z"}]);
    let response = post(bad).await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["errors"].get("appointments[0].end").is_some(),
        "{body}"
    );
    let mut bad = new.clone();
    bad["appointments"] = json!([]);
    let body: Value = post(bad).await.unwrap().json().await.unwrap();
    assert!(body["errors"].get("appointments").is_some(), "{body}");
    let other = app
        .get_json(
            "integration",
            &token,
            &format!("/crm/v2/tenant/{SANDBOX}/locations?pageSize=100"),
        )
        .await;
    let foreign = other["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["customerId"] != job["customerId"])
        .unwrap();
    let mut bad = new.clone();
    bad["locationId"] = foreign["id"].clone();
    let body: Value = post(bad).await.unwrap().json().await.unwrap();
    assert!(
        body["errors"]["locationId"][0]
            .as_str()
            .unwrap()
            .contains("belongs to customer"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn contacts_are_found_created_and_patched_by_guid() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let base = format!("/crm/v2/tenant/{CUSTOMER}/contacts");
    let page = app
        .get_json("integration", &token, &format!("{base}?pageSize=1"))
        .await;
    let guid = page["data"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(guid.len(), 36);
    let one = app
        .get_json("integration", &token, &format!("{base}/{guid}"))
        .await;
    assert_eq!(one["id"], guid.as_str());
    let missing = app
        .get(
            "integration",
            &token,
            &format!("{base}/00000000-0000-0000-0000-000000000000"),
        )
        .await;
    assert_eq!(missing.status(), 404);

    let created = app
        .send(
            Method::POST,
            "integration",
            &token,
            &base,
            &json!({"name": "Ada Lovelace", "title": "Analyst"}),
        )
        .await;
    let status = created.status();
    let created: Value = created.json().await.unwrap();
    assert_eq!(status, 200, "{created}");
    let new_guid = created["id"].as_str().unwrap().to_string();
    assert_eq!(new_guid.len(), 36);
    let patched = app
        .send(
            Method::PATCH,
            "integration",
            &token,
            &format!("{base}/{new_guid}"),
            &json!({"title": "Countess", "isArchived": false}),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let stored = app
        .get_json("integration", &token, &format!("{base}/{new_guid}"))
        .await;
    assert_eq!(
        (stored["name"].as_str(), stored["title"].as_str()),
        (Some("Ada Lovelace"), Some("Countess"))
    );
    app.stop().await;
}

#[tokio::test]
async fn writes_keep_read_only_fields_and_accept_a_bom() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let base = format!("/crm/v2/tenant/{CUSTOMER}/customers");
    let page = app
        .get_json("integration", &token, &format!("{base}?pageSize=1"))
        .await;
    let before = page["data"][0].clone();
    let id = before["id"].as_i64().unwrap();
    let response = app
        .http
        .patch(format!("{}{base}/{id}", app.api_url("integration")))
        .header("ST-App-Key", app.app_key())
        .header("Content-Type", "application/json")
        .bearer_auth(&token)
        .body(format!(
            "\u{feff}{}",
            json!({"balance": 99999, "mergedToId": 5, "createdById": 7, "name": "Renamed"})
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let after = app
        .get_json("integration", &token, &format!("{base}/{id}"))
        .await;
    assert_eq!(after["name"], "Renamed");
    for field in ["balance", "mergedToId", "createdById"] {
        assert_eq!(after[field], before[field], "{field} is not writable");
    }
    app.stop().await;
}

#[tokio::test]
async fn contacts_sent_with_a_customer_or_location_become_its_contacts() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let base = format!("/crm/v2/tenant/{CUSTOMER}");
    let address = json!({"street": "5 Elm St", "city": "Austin", "state": "TX",
                         "zip": "78701", "country": "USA"});
    let customer = json!({"name": "Ada Byron", "type": "Residential", "address": address,
        "contacts": [{"type": "MobilePhone", "value": "512-555-0101", "memo": "evenings"},
                     {"type": "Email", "value": "ada@example.test"}],
        "locations": [{"name": "Home", "address": address,
            "contacts": [{"type": "Phone", "value": "512-555-0102", "memo": "gate code 4"}]}]});
    let response = app
        .send(
            Method::POST,
            "integration",
            &token,
            &format!("{base}/customers"),
            &customer,
        )
        .await;
    assert_eq!(response.status(), 200);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();

    // The answer names the contacts made, with their ids; each is listed under its owner.
    let answered = created["contacts"].as_array().unwrap();
    assert_eq!(answered.len(), 2, "{created}");
    let listed = app
        .get_json(
            "integration",
            &token,
            &format!("{base}/customers/{id}/contacts"),
        )
        .await;
    let listed = listed["data"].as_array().unwrap();
    let values: Vec<&str> = listed
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["512-555-0101", "ada@example.test"]);
    assert_eq!(listed[0]["memo"], "evenings");
    assert_eq!(listed[0]["type"], "MobilePhone");
    for (made, seen) in answered.iter().zip(listed) {
        assert!(made["id"].as_i64().unwrap() > id);
        assert_eq!(made["id"], seen["id"]);
    }
    let location = &created["locations"][0];
    let location_id = location["id"].as_i64().unwrap();
    assert_eq!(location["customerId"], id);
    assert_eq!(location["contacts"][0]["value"], "512-555-0102");
    let listed = app
        .get_json(
            "integration",
            &token,
            &format!("{base}/locations/{location_id}/contacts"),
        )
        .await;
    assert_eq!(listed["data"][0]["value"], "512-555-0102");
    assert_eq!(listed["data"][0]["id"], location["contacts"][0]["id"]);

    // A location created on its own takes its contacts the same way.
    let new = json!({"customerId": id, "name": "Cabin", "address": address,
        "contacts": [{"type": "Phone", "value": "512-555-0103", "memo": "no cell signal"}]});
    let response = app
        .send(
            Method::POST,
            "integration",
            &token,
            &format!("{base}/locations"),
            &new,
        )
        .await;
    assert_eq!(response.status(), 200);
    let cabin: Value = response.json().await.unwrap();
    let cabin_id = cabin["id"].as_i64().unwrap();
    let listed = app
        .get_json(
            "integration",
            &token,
            &format!("{base}/locations/{cabin_id}/contacts"),
        )
        .await;
    assert_eq!(listed["data"][0]["memo"], "no cell signal");
    assert_eq!(listed["data"][0]["id"], cabin["contacts"][0]["id"]);
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    app.stop().await;
}
