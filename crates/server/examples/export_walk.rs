//! One client walking an export feed from the start, for bench/run.sh: prints records/s.
//!
//! Usage: export_walk <auth-url> <api-url> <tenant> <client-id> <client-secret> <app-key>
//!        <module:feed> [values|raw]
//! such as `jpm:export/jobs`. `values` (the default) parses every record into a JSON tree, as
//! a generic client does; `raw` checks each page is valid JSON and splits it into records
//! without building trees, as a client that stores records as they come does.

use std::time::Instant;

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    has_more: bool,
    continue_from: String,
    data: Vec<T>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (args, mode) = match args.len() {
        9 => (&args[..8], args[8].as_str()),
        _ => (&args[..], "values"),
    };
    let [_, auth, api, tenant, id, secret, app_key, feed] = args else {
        return Err(
            "usage: export_walk AUTH API TENANT CLIENT_ID SECRET APP_KEY MODULE:FEED \
                    [values|raw]"
                .into(),
        );
    };
    let (module, feed) = feed.split_once(':').ok_or("feed is MODULE:PATH")?;
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{auth}/connect/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"].as_str().ok_or("no token")?;

    let (mut records, mut pages, mut from) = (0usize, 0usize, String::new());
    let started = Instant::now();
    loop {
        let url = format!("{api}/{module}/v2/tenant/{tenant}/{feed}?from={from}");
        let response = http
            .get(url)
            .header("ST-App-Key", app_key)
            .bearer_auth(token)
            .send()
            .await?;
        let body = response.bytes().await?;
        let (count, has_more, next) = if mode == "raw" {
            let page: Page<&serde_json::value::RawValue> = serde_json::from_slice(&body)?;
            (page.data.len(), page.has_more, page.continue_from)
        } else {
            let page: Page<Value> = serde_json::from_slice(&body)?;
            (page.data.len(), page.has_more, page.continue_from)
        };
        records += count;
        pages += 1;
        from = next;
        if !has_more {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "   {records} records in {pages} pages, {secs:.2} s: {:.0} records/s",
        records as f64 / secs
    );
    Ok(())
}
