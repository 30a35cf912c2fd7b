//! The web pages with every log line captured at debug level: no password, session cookie,
//! CSRF token, app key or client secret that went through them reaches a log line.

mod common;
mod web;

use std::io::Write;
use std::sync::{Arc, Mutex};

use web::Visitor;

/// Every log line of this test process.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_of_the_web_pages_reaches_a_log_line() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let app = common::spawn().await;
    let web = app.web_url();
    let mut secrets = Vec::new();

    // A developer signs up, creates an app and regenerates its key.
    let mut dev = Visitor::new(&web);
    let password = "a password for the log test";
    let form = [
        ("name", "Log Dev"),
        ("email", "log@dev.fieldgate.test"),
        ("password", password),
    ];
    dev.submit("/sign-up", "/sign-up", &form).await;
    secrets.push(password.to_string());
    secrets.push(dev.cookies["fg_session"].clone());
    let made = dev
        .submit(
            "/portal/apps/new",
            "/portal/apps",
            &[("name", "Log App"), ("scope", "tn.crm.customers:r")],
        )
        .await;
    secrets.push(made.csrf());
    secrets.push(made.by_id("app-key").unwrap());
    let again = dev
        .submit("/portal", "/portal/apps/2/keys", &[("grace_hours", "1")])
        .await;
    secrets.push(again.by_id("app-key").unwrap());

    // A tenant admin signs in (once wrongly), connects it, issues and rotates credentials.
    let (email, admin_password) = app.login(Some(common::CUSTOMER));
    secrets.push(admin_password.clone());
    let mut admin = Visitor::new(&web);
    let wrong = [
        ("email", email.as_str()),
        ("password", "not the password at all"),
    ];
    admin.submit("/sign-in", "/sign-in", &wrong).await;
    admin.sign_in(&email, &admin_password).await;
    secrets.push(admin.cookies["fg_session"].clone());
    let connect = [
        ("app", "2"),
        ("environment", "integration"),
        ("scope", "tn.crm.customers:r"),
    ];
    admin
        .submit("/console/connect?app=2", "/console/connections", &connect)
        .await;
    let issued = admin
        .submit(
            "/console",
            "/console/connections/2/integration/clients",
            &[],
        )
        .await;
    let client_id = issued.by_id("issued-client-id").unwrap();
    secrets.push(issued.by_id("issued-secret").unwrap());
    let rotated = admin
        .submit(
            "/console",
            &format!("/console/clients/{client_id}/secrets"),
            &[],
        )
        .await;
    secrets.push(rotated.by_id("issued-secret").unwrap());
    admin.submit("/console", "/sign-out", &[]).await;
    app.stop().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("page answered"), "the pages were not logged");
    for secret in &secrets {
        assert!(secret.len() >= 10, "not a secret: {secret}");
        assert!(!logs.contains(secret.as_str()), "a log line holds {secret}");
    }
}
