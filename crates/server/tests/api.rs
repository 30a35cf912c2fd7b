//! End to end over HTTP: token, list, get, export walk, create and patch, and the gateway's
//! refusals.

mod common;

use std::collections::HashSet;

use common::{CUSTOMER, SANDBOX, spawn};
use reqwest::Method;
use serde_json::{Value, json};

fn assert_api_error(body: &Value, status: u16) {
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["type", "title", "status", "traceId", "errors", "data"],
        "{body}"
    );
    assert_eq!(body["status"], status);
    assert_eq!(body["traceId"].as_str().unwrap().len(), 32);
}

#[tokio::test]
async fn token_list_get_export_create_and_patch() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let base = format!("/crm/v2/tenant/{CUSTOMER}");

    let page = app
        .get_json(
            "integration",
            &token,
            &format!("{base}/customers?pageSize=10"),
        )
        .await;
    let keys: Vec<&str> = page
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["page", "pageSize", "hasMore", "totalCount", "data"]);
    assert_eq!(
        (page["page"].as_i64(), page["pageSize"].as_i64()),
        (Some(1), Some(10))
    );
    assert_eq!(page["hasMore"], true);
    assert_eq!(page["totalCount"], Value::Null);
    assert_eq!(page["data"].as_array().unwrap().len(), 10);

    // Walking every page yields exactly totalCount distinct active customers.
    let total = app
        .get_json(
            "integration",
            &token,
            &format!("{base}/customers?includeTotal=true"),
        )
        .await;
    let total = total["totalCount"].as_i64().unwrap();
    let mut seen = HashSet::new();
    for n in 1.. {
        let page = app
            .get_json(
                "integration",
                &token,
                &format!("{base}/customers?page={n}&pageSize=7"),
            )
            .await;
        for c in page["data"].as_array().unwrap() {
            assert_eq!(c["active"], true);
            assert!(seen.insert(c["id"].as_i64().unwrap()));
        }
        if page["hasMore"] == false {
            break;
        }
    }
    assert_eq!(seen.len() as i64, total);

    let first = &page["data"][0];
    let id = first["id"].as_i64().unwrap();
    assert!(id > i32::MAX as i64, "ids exceed 2^31");
    let got = app
        .get_json("integration", &token, &format!("{base}/customers/{id}"))
        .await;
    assert_eq!(
        (got["id"].as_i64(), &got["name"]),
        (Some(id), &first["name"])
    );
    let missing = app
        .get("integration", &token, &format!("{base}/customers/1"))
        .await;
    assert_eq!(missing.status(), 404);
    assert_api_error(&missing.json().await.unwrap(), 404);

    // The export walk covers every customer, inactive ones included, each exactly once.
    let all = app
        .get_json(
            "integration",
            &token,
            &format!("{base}/customers?active=Any&includeTotal=true"),
        )
        .await;
    let mut exported = HashSet::new();
    let mut from = String::new();
    let mut inactive = 0;
    loop {
        let page = app
            .get_json(
                "integration",
                &token,
                &format!("{base}/export/customers?from={from}"),
            )
            .await;
        let data = page["data"].as_array().unwrap();
        for c in data {
            assert!(exported.insert(c["id"].as_i64().unwrap()));
            inactive += (c["active"] == false) as usize;
        }
        let next = page["continueFrom"].as_str().unwrap().to_string();
        if !data.is_empty() {
            assert_ne!(next, from, "a page with records carries a new token");
        }
        from = next;
        if page["hasMore"] == false {
            break;
        }
    }
    assert_eq!(exported.len() as i64, all["totalCount"].as_i64().unwrap());
    assert!(inactive > 0, "the sample data holds inactive customers");
    let past_end = app
        .get_json(
            "integration",
            &token,
            &format!("{base}/export/customers?from={from}"),
        )
        .await;
    assert_eq!(past_end["data"], json!([]));
    assert_eq!(past_end["hasMore"], false);

    // Create a customer with a location, then patch it.
    let new = json!({
        "name": "Grace Hopper",
        "type": "Residential",
        "address": {"street": "1 Navy Way", "city": "Arlington", "state": "VA", "zip": "22201", "country": "USA"},
        "locations": [{"name": "Home", "address": {"street": "1 Navy Way", "city": "Arlington", "state": "VA", "zip": "22201", "country": "USA"}}]
    });
    let created = app
        .send(
            Method::POST,
            "integration",
            &token,
            &format!("{base}/customers"),
            &new,
        )
        .await;
    assert_eq!(created.status(), 200);
    let created: Value = created.json().await.unwrap();
    let new_id = created["id"].as_i64().unwrap();
    assert!(!seen.contains(&new_id) && !exported.contains(&new_id));
    assert_eq!(created["name"], "Grace Hopper");
    let stored = app
        .get_json("integration", &token, &format!("{base}/customers/{new_id}"))
        .await;
    assert_eq!(stored["address"]["city"], "Arlington");
    assert_eq!(stored["active"], true);
    let locations = app
        .get_json(
            "integration",
            &token,
            &format!("{base}/locations?customerId={new_id}"),
        )
        .await;
    assert_eq!(locations["data"].as_array().unwrap().len(), 1);
    assert_eq!(locations["data"][0]["name"], "Home");

    let patched = app
        .send(
            Method::PATCH,
            "integration",
            &token,
            &format!("{base}/customers/{new_id}"),
            &json!({"name": "Rear Admiral Grace Hopper", "doNotMail": true}),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let stored = app
        .get_json("integration", &token, &format!("{base}/customers/{new_id}"))
        .await;
    assert_eq!(stored["name"], "Rear Admiral Grace Hopper");
    assert_eq!(stored["doNotMail"], true);
    assert_eq!(stored["address"]["city"], "Arlington");
    assert!(stored["modifiedOn"].as_str().unwrap() >= stored["createdOn"].as_str().unwrap());

    // The production data was not touched by the write in integration.
    let prod_token = app.token(CUSTOMER, "production").await;
    let in_prod = app
        .get(
            "production",
            &prod_token,
            &format!("{base}/customers/{new_id}"),
        )
        .await;
    assert_eq!(in_prod.status(), 404);
    app.stop().await;
}

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
async fn the_gateway_refuses_what_it_must() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let url = |tenant: i64| {
        format!(
            "{}/crm/v2/tenant/{tenant}/customers",
            app.api_url("integration")
        )
    };

    // Another tenant's path.
    let response = app
        .get(
            "integration",
            &token,
            &format!("/crm/v2/tenant/{SANDBOX}/customers"),
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_api_error(&response.json().await.unwrap(), 403);

    // Missing and wrong app keys, missing token.
    let response = app
        .http
        .get(url(CUSTOMER))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_api_error(&body, 401);
    assert!(body["title"].as_str().unwrap().contains("ST-App-Key"));
    let response = app
        .http
        .get(url(CUSTOMER))
        .header("ST-App-Key", "ak1.wrong")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = app
        .http
        .get(url(CUSTOMER))
        .header("ST-App-Key", app.app_key())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = app
        .get(
            "integration",
            "not.a.token",
            &format!("/crm/v2/tenant/{CUSTOMER}/customers"),
        )
        .await;
    assert_eq!(response.status(), 401);

    // An app key of another app, with a valid token.
    let control = app.control();
    let other = control.create_app(1, "Other", &[]).await.unwrap();
    let other_key = control.issue_app_key(other.id).await.unwrap();
    let response = app
        .http
        .get(url(CUSTOMER))
        .header(
            "ST-App-Key",
            secrecy::ExposeSecret::expose_secret(&other_key),
        )
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn unimplemented_operations_and_unknown_paths_answer_in_the_api_format() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "production").await;
    let api = app.api_url("production");

    let response = app
        .http
        .put(format!("{api}/jpm/v2/tenant/{CUSTOMER}/jobs/5/cancel"))
        .header("ST-App-Key", app.app_key())
        .bearer_auth(&token)
        .json(&json!({"reasonId": 1, "memo": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 501);
    let body: Value = response.json().await.unwrap();
    assert_api_error(&body, 501);
    assert!(
        body["title"].as_str().unwrap().contains("Jobs_Cancel"),
        "{body}"
    );

    let response = app
        .get(
            "production",
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/nothing-here"),
        )
        .await;
    assert_eq!(response.status(), 404);
    assert_api_error(&response.json().await.unwrap(), 404);

    let response = app
        .http
        .delete(format!("{api}/crm/v2/tenant/{CUSTOMER}/customers"))
        .header("ST-App-Key", app.app_key())
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert!(
        response.headers()["allow"]
            .to_str()
            .unwrap()
            .contains("GET")
    );
    assert_api_error(&response.json().await.unwrap(), 405);

    let response = app
        .get(
            "production",
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/customers?pageSize=5001"),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["errors"].get("pageSize").is_some());
    let response = app
        .get(
            "production",
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/customers?sort=-Nope"),
        )
        .await;
    assert_eq!(response.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn the_integration_copy_matches_production_and_the_sandbox_differs() {
    let app = spawn().await;
    let path = format!("/jpm/v2/tenant/{CUSTOMER}/jobs?pageSize=20&active=Any");
    let prod = app
        .get_json(
            "production",
            &app.token(CUSTOMER, "production").await,
            &path,
        )
        .await;
    let copy = app
        .get_json(
            "integration",
            &app.token(CUSTOMER, "integration").await,
            &path,
        )
        .await;
    assert_eq!(prod, copy);
    let sandbox_path = format!("/jpm/v2/tenant/{SANDBOX}/jobs?pageSize=20&active=Any");
    let sandbox = app
        .get_json(
            "integration",
            &app.token(SANDBOX, "integration").await,
            &sandbox_path,
        )
        .await;
    assert_ne!(sandbox["data"], copy["data"]);
    app.stop().await;
}

#[tokio::test]
async fn sorting_and_filters_apply() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let base = format!("/crm/v2/tenant/{CUSTOMER}/customers");
    let page = app
        .get_json(
            "integration",
            &token,
            &format!("{base}?sort=-Name&pageSize=50"),
        )
        .await;
    let names: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, sorted);
    assert!(names.len() > 30, "most of the 40 customers are active");
    let ids: Vec<i64> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    let picked = app
        .get_json(
            "integration",
            &token,
            &format!(
                "{base}?ids={}",
                ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            ),
        )
        .await;
    let mut got: Vec<i64> = picked["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want);
    let asc = app
        .get_json(
            "integration",
            &token,
            &format!("{base}?sort=%2BId&pageSize=3"),
        )
        .await;
    let asc: Vec<i64> = asc["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert!(asc.windows(2).all(|w| w[0] < w[1]));
    let name = page["data"][0]["name"].as_str().unwrap();
    let by_name = app
        .get_json(
            "integration",
            &token,
            &format!("{base}?name={}", urlencode(name)),
        )
        .await;
    assert!(
        by_name["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] == name)
    );
    assert!(!by_name["data"].as_array().unwrap().is_empty());
    let too_many: Vec<String> = (1..=51).map(|i| i.to_string()).collect();
    let response = app
        .get(
            "integration",
            &token,
            &format!("{base}?ids={}", too_many.join(",")),
        )
        .await;
    assert_eq!(response.status(), 400);
    app.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
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
async fn paths_ignore_case_and_percent_encoding_and_401s_name_bearer() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let plain = app
        .get_json(
            "integration",
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/customers?pageSize=2"),
        )
        .await;
    for path in [
        format!("/CRM/v2/Tenant/{CUSTOMER}/Customers?pageSize=2"),
        format!("/crm/v2/tenant/{CUSTOMER}/cust%6fmers/?pageSize=2"),
    ] {
        assert_eq!(
            app.get_json("integration", &token, &path).await,
            plain,
            "{path}"
        );
    }
    let response = app
        .get(
            "integration",
            "garbage",
            &format!("/crm/v2/tenant/{CUSTOMER}/customers"),
        )
        .await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    app.stop().await;
}

#[tokio::test]
async fn export_tokens_belong_to_their_feed() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let jobs = app
        .get_json(
            "integration",
            &token,
            &format!("/jpm/v2/tenant/{CUSTOMER}/export/jobs"),
        )
        .await;
    let from = jobs["continueFrom"].as_str().unwrap();
    let response = app
        .get(
            "integration",
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/export/customers?from={from}"),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["errors"]["from"][0]
            .as_str()
            .unwrap()
            .contains("another export"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn disconnecting_an_app_refuses_tokens_already_issued() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "production").await;
    let path = format!("/crm/v2/tenant/{CUSTOMER}/customers?pageSize=1");
    assert_eq!(app.get("production", &token, &path).await.status(), 200);
    let (id, _) = app.credentials(CUSTOMER, "production");
    let app_id = app.state.store.client(&id).await.unwrap().unwrap().app_id;
    let control = app.control();
    control
        .disconnect(app_id, CUSTOMER, fieldgate_store::Environment::Production)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let response = app.get("production", &token, &path).await;
        if response.status() == 401 {
            let body: Value = response.json().await.unwrap();
            assert!(
                body["title"].as_str().unwrap().contains("disconnected"),
                "{body}"
            );
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_millis(1500),
            "still accepted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn four_hosts_on_one_listener_are_told_apart_by_host() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let app = common::spawn_with(|c| {
        for (env, name) in [
            (&mut c.integration, "integration"),
            (&mut c.production, "production"),
        ] {
            env.auth_listen = addr;
            env.api_listen = addr;
            env.auth_url = format!("https://auth-{name}.example.com");
            env.api_url = format!("https://api-{name}.example.com");
        }
    })
    .await;
    let url = |path: &str| format!("http://{addr}{path}");
    let (id, secret) = app.credentials(CUSTOMER, "production");
    let token: Value = app
        .http
        .post(url("/connect/token"))
        .header("Host", "auth-production.example.com:443")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();
    let list = |host: &'static str| {
        app.http
            .get(url(&format!(
                "/crm/v2/tenant/{CUSTOMER}/customers?pageSize=1"
            )))
            .header("Host", host)
            .header("ST-App-Key", app.app_key())
            .bearer_auth(token)
            .send()
    };
    assert_eq!(
        list("api-production.example.com").await.unwrap().status(),
        200
    );
    assert_eq!(
        list("api-integration.example.com").await.unwrap().status(),
        401
    );
    let unknown = list("elsewhere.example.com").await.unwrap();
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["traceId"].as_str().unwrap().len(), 32);
    let health = app.http.get(url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn each_module_publishes_its_openapi_document_for_this_environment() {
    let app = spawn().await;
    let index: Value = app
        .http
        .get(format!("{}/openapi", app.api_url("production")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(index["modules"].as_array().unwrap().len(), 24);
    let doc: Value = app
        .http
        .get(format!("{}/openapi/crm.json", app.api_url("production")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["servers"][0]["url"],
        format!("{}/crm/v2", app.api_url("production"))
    );
    let token_url =
        &doc["components"]["securitySchemes"]["oauth"]["flows"]["clientCredentials"]["tokenUrl"];
    assert_eq!(
        token_url,
        &json!(format!("{}/connect/token", app.auth_url("production")))
    );
    let list = &doc["paths"]["/tenant/{tenant}/customers"]["get"];
    assert_eq!(list["operationId"], "Customers_GetList");
    assert_eq!(list["x-fieldgate-served"], true);
    assert_eq!(
        doc["paths"]["/tenant/{tenant}/customers/{id}"]["delete"]["x-fieldgate-served"],
        Value::Null
    );
    let schema_ref = list["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap();
    let name = schema_ref.strip_prefix("#/components/schemas/").unwrap();
    assert!(doc["components"]["schemas"].get(name).is_some());
    let missing = app
        .http
        .get(format!("{}/openapi/nope.json", app.api_url("production")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    app.stop().await;
}
