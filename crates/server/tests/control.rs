//! The domain services the portal, console, admin API and CLI share: people, sessions,
//! throttled sign-in, apps and app keys, connections, secrets and the audit log.

use std::time::Duration;

use fieldgate_server::control::{Actor, Control, ControlError, Role};
use fieldgate_server::crypto::Keys;
use fieldgate_store::sqlite::SqliteStore;
use fieldgate_store::{AuditFilter, Environment, SecretSlot, Store, TenantKind};
use secrecy::{ExposeSecret, SecretString};

struct Fixture {
    store: SqliteStore,
    keys: Keys,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("c.db")).await.unwrap();
    let keys = Keys::from_master(&SecretString::from("m".repeat(40))).unwrap();
    Fixture {
        store,
        keys,
        _dir: dir,
    }
}

impl Fixture {
    fn control(&self) -> Control<'_> {
        Control {
            store: &self.store,
            keys: &self.keys,
            actor: Actor::operator_at("10.1.1.1"),
        }
    }
}

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn sign_up_sign_in_session_and_sign_out() {
    let f = fixture().await;
    let c = f.control();
    let (developer, user) = c
        .sign_up_developer("Dana", "  Dana@Example.COM ", PASSWORD)
        .await
        .unwrap();
    assert_eq!(developer.email, "dana@example.com");
    assert_eq!(
        user.role,
        Role::Developer {
            developer_id: developer.id
        }
    );
    assert!(matches!(
        c.sign_up_developer("Dana", "dana@example.com", PASSWORD)
            .await,
        Err(ControlError::Conflict(_))
    ));
    let short = c.sign_up_developer("Lee", "lee@example.com", "short").await;
    assert!(
        matches!(&short, Err(ControlError::Invalid { field: "password", message }) if message.contains("10")),
        "{short:?}"
    );
    assert!(matches!(
        c.sign_up_developer("Lee", "not-an-email", PASSWORD).await,
        Err(ControlError::Invalid { field: "email", .. })
    ));

    // The password is stored as an Argon2id hash, never in clear.
    let stored = f.store.user(user.id).await.unwrap().unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));
    assert!(!stored.password_hash.contains(PASSWORD));

    let (signed_in, session) = c
        .sign_in("DANA@example.com", PASSWORD, "10.0.0.5")
        .await
        .unwrap();
    assert_eq!(signed_in.id, user.id);
    let token = session.token.expose_secret().to_string();
    assert!(token.len() >= 40);
    assert_eq!(c.session(&token).await.unwrap().unwrap().id, user.id);
    assert!(c.session("fs1.guess").await.unwrap().is_none());

    let csrf = c.csrf_token(&token);
    assert!(c.csrf_matches(&token, &csrf));
    assert!(!c.csrf_matches(&token, &c.csrf_token("fs1.other")));

    c.sign_out(&token).await.unwrap();
    assert!(c.session(&token).await.unwrap().is_none());
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_email() {
    let f = fixture().await;
    let c = f.control();
    c.sign_up_developer("Dana", "dana@example.com", PASSWORD)
        .await
        .unwrap();
    for _ in 0..5 {
        assert!(matches!(
            c.sign_in("dana@example.com", "wrong password!", "10.0.0.6")
                .await,
            Err(ControlError::BadCredentials)
        ));
    }
    // Now even the right password waits, and the error says how long.
    let refused = c.sign_in("dana@example.com", PASSWORD, "10.0.0.7").await;
    match refused {
        Err(ControlError::Throttled { retry_after_secs }) => {
            assert!((1..=60).contains(&retry_after_secs), "{retry_after_secs}")
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    // An unknown email fails like a wrong password.
    assert!(matches!(
        c.sign_in("nobody@example.com", PASSWORD, "10.0.0.8").await,
        Err(ControlError::BadCredentials)
    ));
}

#[tokio::test]
async fn tenant_admins_belong_to_an_existing_tenant() {
    let f = fixture().await;
    let c = f.control();
    assert!(matches!(
        c.create_tenant_admin(5, "Ada", "ada@example.com", PASSWORD)
            .await,
        Err(ControlError::NotFound(_))
    ));
    c.create_tenant(5, "Acme", TenantKind::Customer)
        .await
        .unwrap();
    let admin = c
        .create_tenant_admin(5, "Ada", "ada@example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(admin.role, Role::TenantAdmin { tenant_id: 5 });
    assert_eq!(c.tenant_admins(5).await.unwrap().len(), 1);
    let (user, _) = c
        .sign_in("ada@example.com", PASSWORD, "10.0.0.9")
        .await
        .unwrap();
    assert_eq!(user.tenant_id(), Some(5));
    assert_eq!(
        Actor::user(&user, None).name,
        format!("admin:{}@5", user.id)
    );
}

#[tokio::test]
async fn apps_ask_for_catalog_scopes_and_keys_regenerate_with_grace() {
    let f = fixture().await;
    let c = f.control();
    let dev = c
        .create_developer("Dana", "dana@example.com")
        .await
        .unwrap();
    let bad = c
        .create_app(dev.id, "Board", &["tn.crm.nonsense:r".into()])
        .await;
    assert!(matches!(
        bad,
        Err(ControlError::Invalid {
            field: "scopes",
            ..
        })
    ));
    let app = c
        .create_app(
            dev.id,
            "Board",
            &["tn.crm.customers:r".into(), "tn.crm.customers:r".into()],
        )
        .await
        .unwrap();
    assert_eq!(app.scopes, ["tn.crm.customers:r"]);
    assert!(matches!(
        c.app_of_developer(dev.id + 1, app.id).await,
        Err(ControlError::NotFound(_))
    ));

    let first = c.issue_app_key(app.id).await.unwrap();
    let second = c
        .regenerate_app_key(app.id, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_ne!(first.expose_secret(), second.expose_secret());
    let keys = c.app_keys_of(app.id).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].hint, &second.expose_secret()[..8]);
    assert_eq!(keys[0].expires_us, None);
    let grace_end = keys[1].expires_us.expect("the old key ends");
    let in_an_hour = chrono::Utc::now().timestamp_micros() + 3_600_000_000;
    assert!((grace_end - in_an_hour).abs() < 60_000_000);
    assert!(keys[1].active);

    c.regenerate_app_key(app.id, Duration::ZERO).await.unwrap();
    let keys = c.app_keys_of(app.id).await.unwrap();
    assert_eq!(
        keys.iter().filter(|k| k.active).count(),
        1,
        "zero grace ends older keys at once"
    );
    assert!(matches!(
        c.regenerate_app_key(app.id, Duration::from_secs(400 * 86_400))
            .await,
        Err(ControlError::Invalid { .. })
    ));

    let groups = fieldgate_server::control::scope_groups();
    let crm = groups.iter().find(|g| g.module == "crm").unwrap();
    assert!(
        crm.scopes
            .iter()
            .any(|s| s.scope == "tn.crm.customers:w" && s.access == "write")
    );
}

#[tokio::test]
async fn secrets_rotate_through_two_slots_and_disconnect_disables_clients() {
    let f = fixture().await;
    let c = f.control();
    let dev = c
        .create_developer("Dana", "dana@example.com")
        .await
        .unwrap();
    let app = c
        .create_app(dev.id, "Board", &["tn.crm.customers:r".into()])
        .await
        .unwrap();
    c.create_tenant(9, "Sandbox", TenantKind::Developer)
        .await
        .unwrap();
    let integ = Environment::Integration;
    assert!(matches!(
        c.connect(&app, 9, Environment::Production, &app.scopes)
            .await,
        Err(ControlError::Invalid {
            field: "environment",
            ..
        })
    ));
    assert!(matches!(
        c.connect(&app, 9, integ, &["tn.jpm.jobs:r".into()]).await,
        Err(ControlError::Invalid {
            field: "scopes",
            ..
        })
    ));
    c.connect(&app, 9, integ, &app.scopes).await.unwrap();
    let issued = c.issue_client(app.id, 9, integ).await.unwrap();
    let id = issued.client_id.clone();

    assert!(matches!(
        c.retire_secret(&id, SecretSlot::First).await,
        Err(ControlError::Invalid { field: "slot", .. })
    ));
    let added = c.add_secret(&id).await.unwrap();
    assert_eq!(added.slot, SecretSlot::Second);
    assert!(matches!(
        c.add_secret(&id).await,
        Err(ControlError::Conflict(_))
    ));
    c.retire_secret(&id, SecretSlot::First).await.unwrap();
    let info = c.client(&id).await.unwrap();
    assert!(info.secrets[0].set_us.is_none() && info.secrets[1].set_us.is_some());
    assert_eq!(c.add_secret(&id).await.unwrap().slot, SecretSlot::First);

    c.disconnect(app.id, 9, integ).await.unwrap();
    let clients = c.clients_of_tenant(9).await.unwrap();
    assert!(!clients[0].enabled, "a disconnect disables the clients");
    assert!(matches!(
        c.set_client_enabled(&id, true).await,
        Err(ControlError::Invalid { .. })
    ));
    c.connect(&app, 9, integ, &app.scopes).await.unwrap();
    assert!(!c.client(&id).await.unwrap().enabled, "not revived");
    c.set_client_enabled(&id, true).await.unwrap();

    // Every change is in the audit log, per tenant and per app, with who and from where.
    let events = c
        .audit_events(AuditFilter {
            tenant_id: Some(9),
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = events.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "tenant.created",
            "connection.created",
            "client.created",
            "client.secret_added",
            "client.secret_retired",
            "client.secret_added",
            "connection.deleted",
            "connection.created",
            "client.enabled",
        ]
    );
    assert!(events.iter().all(|e| e.actor == "operator"
        && e.address.as_deref() == Some("10.1.1.1")
        && e.app_id.is_none_or(|a| a == app.id)));
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(issued.client_secret.expose_secret()));
    assert!(!text.contains(added.client_secret.expose_secret()));
    let of_app = c
        .audit_events(AuditFilter {
            app_id: Some(app.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(of_app.last().unwrap().action, "app.created");
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_address() {
    let f = fixture().await;
    let c = f.control();
    c.sign_up_developer("Dana", "dana@example.com", PASSWORD)
        .await
        .unwrap();
    // Guessing across many emails from one address: 20 failures, then the address waits.
    for n in 0..20 {
        let email = format!("guess{n}@example.com");
        assert!(matches!(
            c.sign_in(&email, "wrong password!", "10.0.0.66").await,
            Err(ControlError::BadCredentials)
        ));
    }
    assert!(matches!(
        c.sign_in("dana@example.com", PASSWORD, "10.0.0.66").await,
        Err(ControlError::Throttled { .. })
    ));
    // Another address is not held back.
    c.sign_in("dana@example.com", PASSWORD, "10.0.0.67")
        .await
        .unwrap();
}
