//! Graceful shutdown: a request in flight when the server is told to stop still gets its answer.

mod common;

use std::time::Duration;

use common::{CUSTOMER, spawn};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_request_in_flight_is_answered_before_the_server_stops() {
    let mut app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let api = app.api_url("integration");
    let addr = api.trim_start_matches("http://").to_string();
    let body = json!({"name": "Half Sent", "type": "Residential",
        "address": {"street": "1 Main", "city": "Austin", "state": "TX", "zip": "78701", "country": "USA"},
        "locations": [{"name": "Home", "address": {"street": "1 Main", "city": "Austin", "state": "TX", "zip": "78701", "country": "USA"}}]})
    .to_string();

    // Headers and half the body now; the rest after the server has been told to stop.
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /crm/v2/tenant/{CUSTOMER}/customers HTTP/1.1\r\nHost: {addr}\r\nST-App-Key: {}\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        app.app_key(),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    stream.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let running = app.running.take().unwrap();
    let stopping = tokio::spawn(running.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !stopping.is_finished(),
        "shutdown waits for the request in flight"
    );

    stream.write_all(rest.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("Half Sent"));
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .unwrap()
        .unwrap();

    // Stopped: new connections are refused.
    assert!(TcpStream::connect(&addr).await.is_err());
}
