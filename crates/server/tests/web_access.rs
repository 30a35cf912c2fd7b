//! Who may do what in the portal and console, over HTTP: CSRF tokens, sessions, tenants, and
//! throttled sign-ins.

mod common;
mod web;

use reqwest::StatusCode;
use web::Visitor;

fn developer(app: &common::TestApp) -> (String, String) {
    app.login(None)
}

/// The demo app's id, as its developer's portal lists it.
async fn demo_app_id(dev: &mut Visitor) -> String {
    let portal = dev.get("/portal").await;
    portal
        .body
        .split("href=\"/portal/apps/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|id| id.bytes().all(|b| b.is_ascii_digit()))
        .expect("an app is listed")
        .to_string()
}

#[tokio::test]
async fn a_form_post_without_its_token_is_refused() {
    let app = common::spawn().await;
    let (email, password) = developer(&app);
    let mut dev = Visitor::new(&app.web_url());

    // Signed out: the sign-in form needs the token bound to the visitor cookie.
    dev.get("/sign-in").await;
    let form = [("email", email.as_str()), ("password", password.as_str())];
    let bare = dev.post("/sign-in", &form).await;
    assert_eq!(bare.status, StatusCode::FORBIDDEN);
    assert!(bare.body.contains("security token"), "{}", bare.body);
    let wrong = [&form[..], &[("csrf", "not-the-token")]].concat();
    assert_eq!(
        dev.post("/sign-in", &wrong).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(!dev.cookies.contains_key("fg_session"));
    dev.sign_in(&email, &password).await;

    // Signed in: a post without the token, or with another session's, changes nothing.
    let create = [("name", "Forged App"), ("scope", "tn.crm.customers:r")];
    assert_eq!(
        dev.post("/portal/apps", &create).await.status,
        StatusCode::FORBIDDEN
    );
    let mut other = Visitor::new(&app.web_url());
    other.sign_in(&email, &password).await;
    let foreign = other.get("/portal/apps/new").await.csrf();
    let forged = [&create[..], &[("csrf", foreign.as_str())]].concat();
    assert_eq!(
        dev.post("/portal/apps", &forged).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(!dev.get("/portal").await.body.contains("Forged App"));

    // A visitor token does not pass for a session one, nor on other forms.
    let visitor_token = Visitor::new(&app.web_url()).get("/sign-in").await.csrf();
    let forged = [&create[..], &[("csrf", visitor_token.as_str())]].concat();
    assert_eq!(
        dev.post("/portal/apps", &forged).await.status,
        StatusCode::FORBIDDEN
    );

    // The same form with its own token goes through, so the refusals above were the token's.
    let made = dev
        .submit("/portal/apps/new", "/portal/apps", &create)
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert!(made.by_id("app-key").unwrap().starts_with("ak1."));
    assert!(dev.get("/portal").await.body.contains("Forged App"));

    // Signing out is a form too: without the token the session survives.
    assert_eq!(
        dev.post("/sign-out", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(dev.get("/portal").await.status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn one_persons_cookie_does_not_open_anothers_pages() {
    let app = common::spawn().await;
    let web = app.web_url();
    let (email, password) = developer(&app);
    let mut owner = Visitor::new(&web);
    owner.sign_in(&email, &password).await;
    let app_id = demo_app_id(&mut owner).await;
    assert_eq!(
        owner.get(&format!("/portal/apps/{app_id}")).await.status,
        StatusCode::OK
    );

    // Another developer, signed up through the form, sees none of it.
    let mut stranger = Visitor::new(&web);
    let signed_up = stranger
        .submit(
            "/sign-up",
            "/sign-up",
            &[
                ("name", "Someone Else"),
                ("email", "else@dev.fieldgate.test"),
                ("password", "another long password"),
            ],
        )
        .await;
    assert_eq!(
        signed_up.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_up.body
    );
    assert!(!stranger.get("/portal").await.body.contains("Demo App"));
    for path in [
        format!("/portal/apps/{app_id}"),
        format!("/portal/apps/{app_id}/audit"),
    ] {
        assert_eq!(
            stranger.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let regenerate = stranger
        .submit(
            "/portal/apps/new",
            &format!("/portal/apps/{app_id}/keys"),
            &[("grace_hours", "0")],
        )
        .await;
    assert_eq!(regenerate.status, StatusCode::NOT_FOUND);
    // The demo's key still works: the stranger's regeneration did nothing.
    let token = app.token(common::CUSTOMER, "integration").await;
    let path = format!("/crm/v2/tenant/{}/customers?pageSize=1", common::CUSTOMER);
    assert_eq!(app.get("integration", &token, &path).await.status(), 200);

    // A tenant admin is not a developer, and the other way round.
    let (admin_email, admin_password) = app.login(Some(common::CUSTOMER));
    let mut admin = Visitor::new(&web);
    admin.sign_in(&admin_email, &admin_password).await;
    assert_eq!(admin.get("/portal").await.status, StatusCode::FORBIDDEN);
    assert_eq!(owner.get("/console").await.status, StatusCode::FORBIDDEN);

    // No cookie, a made-up one, or one whose session was signed out: back to sign-in.
    let mut nobody = Visitor::new(&web);
    assert_eq!(
        nobody.get("/portal").await.location.as_deref(),
        Some("/sign-in")
    );
    nobody
        .cookies
        .insert("fg_session".into(), "fs1.madeup".into());
    assert_eq!(
        nobody.get("/console").await.location.as_deref(),
        Some("/sign-in")
    );
    let stolen = owner.cookies["fg_session"].clone();
    let out = owner.submit("/portal", "/sign-out", &[]).await;
    assert_eq!(out.location.as_deref(), Some("/sign-in?done=signed-out"));
    let mut thief = Visitor::new(&web);
    thief.cookies.insert("fg_session".into(), stolen);
    assert_eq!(
        thief.get("/portal").await.location.as_deref(),
        Some("/sign-in")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_tenant_admin_sees_only_their_own_tenant() {
    let app = common::spawn().await;
    let web = app.web_url();
    let (customer_client, _) = app.credentials(common::CUSTOMER, "integration");
    let (sandbox_client, _) = app.credentials(common::SANDBOX, "integration");

    let (email, password) = app.login(Some(common::CUSTOMER));
    let mut customer = Visitor::new(&web);
    customer.sign_in(&email, &password).await;
    let (email, password) = app.login(Some(common::SANDBOX));
    let mut sandbox = Visitor::new(&web);
    sandbox.sign_in(&email, &password).await;

    // Each console lists its own clients only.
    let home = customer.get("/console").await.body;
    assert!(home.contains(&customer_client) && !home.contains(&sandbox_client));
    let home = sandbox.get("/console").await.body;
    assert!(home.contains(&sandbox_client) && !home.contains(&customer_client));

    // Acting on the other tenant's client is "not found", and changes nothing.
    for action in ["disable", "secrets"] {
        let path = format!("/console/clients/{customer_client}/{action}");
        let refused = sandbox.submit("/console", &path, &[]).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{path}");
    }
    let retire = format!("/console/clients/{customer_client}/secrets/1/retire");
    assert_eq!(
        sandbox.submit("/console", &retire, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    app.token(common::CUSTOMER, "integration").await;

    // Nor can it issue credentials for a connection it does not have (the demo app is not
    // connected to the sandbox in production).
    let issue = "/console/connections/1/production/clients";
    assert_eq!(
        sandbox.submit("/console", issue, &[]).await.status,
        StatusCode::NOT_FOUND
    );

    // Disabling its own client works and shows in its own audit log only.
    let own = format!("/console/clients/{sandbox_client}/disable");
    let done = sandbox.submit("/console", &own, &[]).await;
    assert_eq!(done.location.as_deref(), Some("/console?done=disabled"));
    let sandbox_audit = sandbox.get("/console/audit").await.body;
    assert!(sandbox_audit.contains("client.disabled"));
    assert!(!sandbox_audit.contains(&common::CUSTOMER.to_string()));
    let customer_audit = customer.get("/console/audit").await.body;
    assert!(customer_audit.contains("client.created"));
    assert!(!customer_audit.contains("client.disabled"));
    assert!(!customer_audit.contains(&common::SANDBOX.to_string()));
    app.stop().await;
}

#[tokio::test]
async fn the_audit_log_filters_by_time() {
    let app = common::spawn().await;
    let (email, password) = app.login(Some(common::CUSTOMER));
    let mut admin = Visitor::new(&app.web_url());
    admin.sign_in(&email, &password).await;

    let all = admin.get("/console/audit").await;
    assert!(all.body.contains("client.created"));
    let future = admin.get("/console/audit?since=2999-01-01T00:00").await;
    assert_eq!(future.status, StatusCode::OK);
    assert!(future.body.contains("No events in this period."));
    let past = admin.get("/console/audit?until=2000-01-01T00:00").await;
    assert!(past.body.contains("No events in this period."));
    let bad = admin.get("/console/audit?since=yesterday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("2026-01-31T08:00"), "{}", bad.body);
    app.stop().await;
}

#[tokio::test]
async fn failed_sign_ins_are_throttled() {
    let app = common::spawn().await;
    let (email, password) = developer(&app);
    let mut guesser = Visitor::new(&app.web_url());

    let mut statuses = Vec::new();
    for _ in 0..8 {
        let page = guesser
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", email.as_str()), ("password", "wrong guess 123")],
            )
            .await;
        statuses.push(page.status);
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(page.body.contains("Try again in"), "{}", page.body);
            break;
        }
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.body.contains("The email or password is wrong."));
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(
        statuses.len() > 1,
        "the first wrong password was already throttled"
    );

    // While throttled, even the right password does not get in.
    let page = guesser
        .submit(
            "/sign-in",
            "/sign-in",
            &[("email", email.as_str()), ("password", password.as_str())],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!guesser.cookies.contains_key("fg_session"));
    app.stop().await;
}

/// The session cookie: scripts cannot read it, other sites' posts do not carry it, and behind
/// https it travels only over TLS. Pages forbid other origins, framing and caching.
#[tokio::test]
async fn cookies_and_headers_keep_the_session_to_this_site() {
    for (web_url, secure) in [
        (None, false),
        (Some("https://console.fieldgate.test"), true),
    ] {
        let app = common::spawn_with(|c| {
            if let Some(url) = web_url {
                c.web_url = url.into();
            }
        })
        .await;
        let base = format!("http://{}", app.state.config.web_listen.unwrap());
        let (email, password) = developer(&app);
        let mut dev = Visitor::new(&base);
        let token = dev.get("/sign-in").await.csrf();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = http
            .post(format!("{base}/sign-in"))
            .header(
                "cookie",
                format!("fg_visitor={}", dev.cookies["fg_visitor"]),
            )
            .form(&[("email", &email), ("password", &password), ("csrf", &token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|v| v.starts_with("fg_session="))
            .expect("a session cookie");
        for part in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
            assert!(cookie.contains(part), "{cookie} lacks {part}");
        }
        assert_eq!(cookie.contains("Secure"), secure, "{cookie}");

        let page = http.get(format!("{base}/sign-in")).send().await.unwrap();
        let headers = page.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let css = http
            .get(format!("{base}/static/style.css"))
            .send()
            .await
            .unwrap();
        assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
        app.stop().await;
    }
}

#[tokio::test]
async fn sign_up_refuses_bad_input_and_floods() {
    let app = common::spawn().await;
    let mut visitor = Visitor::new(&app.web_url());
    let short = [
        ("name", "Short"),
        ("email", "short@dev.test"),
        ("password", "tiny"),
    ];
    let refused = visitor.submit("/sign-up", "/sign-up", &short).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("at least 10 characters"),
        "{}",
        refused.body
    );
    // What was typed (but the password) is kept for the next try.
    assert!(refused.body.contains(r#"value="short@dev.test""#));
    let taken = [
        ("name", "Again"),
        ("email", "Developer@Fieldgate.test"),
        ("password", "a long enough password"),
    ];
    let refused = visitor.submit("/sign-up", "/sign-up", &taken).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("already exists"), "{}", refused.body);

    // Past a few attempts a minute from one address, sign-up waits.
    let mut last = StatusCode::OK;
    for n in 0..6 {
        let email = format!("flood{n}@dev.test");
        let form = [
            ("name", "Flood"),
            ("email", email.as_str()),
            ("password", "tiny"),
        ];
        last = visitor.submit("/sign-up", "/sign-up", &form).await.status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

#[tokio::test]
async fn unknown_pages_answer_with_the_sites_own_pages() {
    let app = common::spawn().await;
    let (email, password) = developer(&app);
    let mut dev = Visitor::new(&app.web_url());
    dev.sign_in(&email, &password).await;
    for path in ["/portal/apps/abc", "/portal/apps/999999", "/nowhere"] {
        let page = dev.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            page.body.contains("<h1>Not found</h1>"),
            "{path}: {}",
            page.body
        );
    }
    for path in [
        "/sign-out",
        "/portal/apps/1/keys",
        "/console/clients/x/disable",
    ] {
        let page = dev.get(path).await;
        assert_eq!(page.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert!(
            page.body.contains("<h1>Not allowed</h1>"),
            "{path}: {}",
            page.body
        );
    }
    let home = dev.get("/").await;
    assert_eq!(home.location.as_deref(), Some("/portal"));
    app.stop().await;
}
