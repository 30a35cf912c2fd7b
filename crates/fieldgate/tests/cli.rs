//! The `fieldgate` operator commands, driving the real binary: on the store directly with no
//! server, then over the admin API of a running `fieldgate serve`.

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const TOKEN: &str = "cli-test-operator-token-0123456789";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Env {
    dir: tempfile::TempDir,
    admin: u16,
    auth: u16,
}

impl Env {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fieldgate"));
        command
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(args)
            .env_remove("FIELDGATE_OPERATOR_TOKEN")
            .env_remove("FIELDGATE_ADMIN_URL")
            .env(
                "FIELDGATE_ADMIN_LISTEN",
                format!("127.0.0.1:{}", self.admin),
            )
            .env(
                "FIELDGATE_PRODUCTION__AUTH_LISTEN",
                format!("127.0.0.1:{}", self.auth),
            )
            .env(
                "FIELDGATE_PRODUCTION__AUTH_URL",
                format!("http://127.0.0.1:{}", self.auth),
            )
            .env("FIELDGATE_OPS_LISTEN", "127.0.0.1:0")
            .env("FIELDGATE_WEB_LISTEN", "127.0.0.1:0")
            .env("FIELDGATE_WEB_URL", "http://127.0.0.1:0");
        for (key, value) in [
            ("INTEGRATION__AUTH", "127.0.0.1:0"),
            ("INTEGRATION__API", "127.0.0.1:0"),
            ("PRODUCTION__API", "127.0.0.1:0"),
        ] {
            command.env(format!("FIELDGATE_{key}_LISTEN"), value);
            command.env(format!("FIELDGATE_{key}_URL"), format!("http://{value}"));
        }
        command
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    }

    /// Runs with `--json` and expects success.
    fn json(&self, args: &[&str], stdin: Option<&str>) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all, stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// The operator's flags to reach the admin API, then `args`.
fn over<'a>(admin_url: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--admin-url", admin_url, "--operator-token", TOKEN];
    all.extend_from_slice(args);
    all
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn operators_manage_credentials_directly_and_over_the_admin_api() {
    let env = Env {
        dir: tempfile::tempdir().unwrap(),
        admin: free_port(),
        auth: free_port(),
    };

    // No server: the commands work on the store itself.
    let tenant = env.json(
        &["tenants", "create", "--id", "5000000001", "--name", "Bolt"],
        None,
    );
    assert_eq!(tenant["id"], 5_000_000_001i64);
    let dev = env.json(
        &[
            "developers",
            "create",
            "--name",
            "Lee",
            "--email",
            "lee@dev.test",
            "--password-stdin",
        ],
        Some("a long enough password\n"),
    );
    assert!(dev["userId"].is_i64());
    let dev_id = dev["id"].to_string();
    let app = env.json(
        &[
            "apps",
            "create",
            "--developer",
            &dev_id,
            "--name",
            "Meter",
            "--scope",
            "tn.crm.customers:r",
        ],
        None,
    );
    let app_id = app["id"].to_string();
    let key = env.json(&["app-keys", "regenerate", &app_id, "--grace", "10m"], None);
    assert!(key["appKey"].as_str().unwrap().starts_with("ak1."));
    let refused = env.run(
        &["tenants", "create", "--id", "5000000001", "--name", "Again"],
        None,
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already exists. (409)"));

    // A server with the admin API; the same commands now go over HTTP.
    let server = Server(
        env.command(&["serve"])
            .env("FIELDGATE_OPERATOR_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let admin_url = format!("http://127.0.0.1:{}", env.admin);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", env.admin)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let args = over(
        &admin_url,
        &[
            "connections",
            "connect",
            "--tenant",
            "5000000001",
            "--app",
            &app_id,
            "--env",
            "production",
        ],
    );
    let conn = env.json(&args, None);
    assert_eq!(conn["scopes"][0], "tn.crm.customers:r");
    let args = over(
        &admin_url,
        &[
            "clients",
            "issue",
            "--tenant",
            "5000000001",
            "--app",
            &app_id,
            "--env",
            "production",
        ],
    );
    let issued = env.json(&args, None);
    let client_id = issued["clientId"].as_str().unwrap().to_string();
    let secret = issued["clientSecret"].as_str().unwrap().to_string();

    let token = raw::post(env.auth, &client_id, &secret);
    assert_eq!(token, 200);

    // Tables by default.
    let args = over(&admin_url, &["clients", "list", "--tenant", "5000000001"]);
    let out = env.run(&args, None);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.starts_with("clientId"), "{table}");
    assert!(
        table.contains(&client_id) && table.contains("production"),
        "{table}"
    );
    assert!(!table.contains(&secret));

    let args = over(&admin_url, &["clients", "disable", &client_id]);
    assert_eq!(env.json(&args, None)["enabled"], false);
    assert_eq!(raw::post(env.auth, &client_id, &secret), 400);

    let args = over(&admin_url, &["audit", "--tenant", "5000000001"]);
    let audit = env.json(&args, None);
    let events = audit["data"].as_array().unwrap();
    assert_eq!(events[0]["action"], "client.disabled");
    assert_eq!(events[0]["address"], "127.0.0.1", "over HTTP");
    assert_eq!(events.last().unwrap()["action"], "tenant.created");
    assert_eq!(
        events.last().unwrap()["address"],
        "cli",
        "directly on the store"
    );

    // A wrong token is refused with the API's reason.
    let wrong = env.run(
        &[
            "--admin-url",
            &admin_url,
            "--operator-token",
            "not-the-token",
            "tenants",
            "list",
        ],
        None,
    );
    assert_eq!(wrong.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("The operator token is wrong. (401)"),
        "{stderr}"
    );
    drop(server);
}

/// A tiny token request without pulling an async runtime into this test.
mod raw {
    use std::io::{Read, Write};

    pub fn post(port: u16, id: &str, secret: &str) -> u16 {
        let body = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "POST /connect/token HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: \
             application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response.split(' ').nth(1).unwrap().parse().unwrap()
    }
}

#[test]
fn operators_refresh_an_integration_copy_from_the_cli() {
    let env = Env {
        dir: tempfile::tempdir().unwrap(),
        admin: free_port(),
        auth: free_port(),
    };
    let tenant = "5000000002";
    // Nothing to refresh where no store is: refused, and no empty store is left behind.
    let nowhere = env.run(&["refresh", "list", "--tenant", tenant], None);
    assert_eq!(nowhere.status.code(), Some(1));
    let said = String::from_utf8_lossy(&nowhere.stderr);
    assert!(said.contains("no fieldgate store in"), "{said}");
    assert!(!env.dir.path().join("fieldgate.db").exists());
    let seeded = env.run(
        &[
            "seed",
            "--env",
            "production",
            "--tenant",
            tenant,
            "--scale",
            "20",
        ],
        None,
    );
    assert!(seeded.status.success(), "{seeded:?}");
    assert!(String::from_utf8_lossy(&seeded.stdout).contains("around 20 customers"));

    let settings = env.run(
        &["refresh", "settings", "--tenant", tenant, "--mask", "true"],
        None,
    );
    let settings: Value = serde_json::from_slice(&settings.stdout).unwrap();
    assert_eq!(settings["masked"], true);
    // Times as the admin API writes them; no refresh has finished, so nothing is known held.
    assert!(settings["updatedOn"].as_str().unwrap().ends_with('Z'));
    assert_eq!(settings["holds"], Value::Null);
    // A negative interval (back to the configured default) is a value, not a flag.
    let reset = env.run(
        &[
            "refresh",
            "settings",
            "--tenant",
            tenant,
            "--min-interval-secs",
            "-1",
        ],
        None,
    );
    assert!(reset.status.success(), "{reset:?}");
    let reset: Value = serde_json::from_slice(&reset.stdout).unwrap();
    assert_eq!(reset["minIntervalSecs"], Value::Null);

    let refreshed = env.run(&["refresh", "request", "--tenant", tenant], None);
    let said = String::from_utf8_lossy(&refreshed.stdout);
    assert!(refreshed.status.success(), "{refreshed:?}");
    assert!(said.contains("done:"), "{said}");
    // Before it starts, the command says what the refresh replaces, and, with no server to
    // take the job, that it runs the job itself.
    let told = String::from_utf8_lossy(&refreshed.stderr);
    assert!(told.contains("will be lost"), "{told}");
    assert!(told.contains("runs in this one"), "{told}");

    let jobs = env.json(&["refresh", "list", "--tenant", tenant], None);
    let job = &jobs[0];
    assert_eq!(jobs.as_array().unwrap().len(), 1);
    assert_eq!(job["status"], "done");
    assert_eq!(job["masked"], true);
    assert_eq!(job["rowsCopied"], job["rowsTotal"]);
    let id = job["id"].to_string();
    let shown = env.run(&["refresh", "show", &id], None);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["id"], job["id"]);
    let settings = env.run(&["refresh", "settings", "--tenant", tenant], None);
    let settings: Value = serde_json::from_slice(&settings.stdout).unwrap();
    assert_eq!(settings["holds"]["jobId"], job["id"]);
    assert_eq!(settings["holds"]["masked"], true);

    // Too soon after the last: refused with the wait, unless the operator forces it.
    let again = env.run(&["refresh", "request", "--tenant", tenant], None);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("Try again in"));
    let forced = env.run(
        &[
            "refresh",
            "request",
            "--tenant",
            tenant,
            "--force",
            "--no-mask",
        ],
        None,
    );
    assert!(forced.status.success(), "{forced:?}");

    // Only a failed job can be retried; a refusal is one line, not a trace.
    let retried = env.run(&["refresh", "retry", &id, "--force"], None);
    assert_eq!(retried.status.code(), Some(1));
    let said = String::from_utf8_lossy(&retried.stderr);
    assert!(said.contains("only a failed job can be retried"), "{said}");
    assert_eq!(said.trim().lines().count(), 1, "{said}");
    assert_eq!(
        env.json(&["refresh", "list", "--tenant", tenant], None)[0]["masked"],
        false
    );
    // Read by a person: a header, then the newest job first.
    let table = env.run(&["refresh", "list", "--tenant", tenant], None);
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert_eq!(
        rows[0][..6],
        ["job", "tenant", "source", "masked", "status", "done"]
    );
    assert_eq!(
        rows[1][1..6],
        [tenant, "production", "no", "done", "100.0%"]
    );
    assert_eq!(rows[2][0], id);
    assert_eq!(rows[2][3], "yes");
    let unknown = env.run(&["refresh", "list", "--tenant", "5000000099"], None);
    assert_eq!(unknown.status.code(), Some(1));
    let said = String::from_utf8_lossy(&unknown.stderr);
    assert!(said.contains("5000000099"), "{said}");

    // Seeding is audited, and integration is not seeded under a refresh that would replace it.
    let audit = env.json(&["audit", "--tenant", tenant], None);
    let events = audit
        .get("data")
        .unwrap_or(&audit)
        .as_array()
        .unwrap()
        .clone();
    let seeded = events.iter().find(|e| e["action"] == "dataset.seeded");
    let seeded = seeded.unwrap_or_else(|| panic!("no seed in {events:?}"));
    assert_eq!(seeded["environment"], "production");
    assert_eq!(seeded["detail"]["scale"], 20);
    let queued = env.run(
        &[
            "refresh", "request", "--tenant", tenant, "--force", "--detach",
        ],
        None,
    );
    assert!(queued.status.success(), "{queued:?}");
    let refused = env.run(
        &[
            "seed",
            "--env",
            "integration",
            "--tenant",
            tenant,
            "--scale",
            "5",
        ],
        None,
    );
    assert_eq!(refused.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("is queued"), "{said}");

    // A developer sandbox has no production data to seed.
    let sandbox = env.run(
        &[
            "tenants",
            "create",
            "--id",
            "5000000003",
            "--name",
            "Sandbox",
            "--kind",
            "developer",
        ],
        None,
    );
    assert!(sandbox.status.success(), "{sandbox:?}");
    let refused = env.run(
        &[
            "seed",
            "--env",
            "production",
            "--tenant",
            "5000000003",
            "--scale",
            "5",
        ],
        None,
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("developer sandbox"));
}
