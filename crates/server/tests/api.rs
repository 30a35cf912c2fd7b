//! End to end over HTTP: token, list, get, export walk, create and patch, and what the API
//! host publishes.

mod common;

use std::collections::HashSet;

use common::{CUSTOMER, SANDBOX, assert_api_error, spawn};
use reqwest::Method;
use serde_json::{Value, json};

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
