//! People, sessions and the credential lifecycle: users, sessions, listings by developer,
//! app and tenant, app-key rotation, secret slots, disconnects, filtered audit reads and
//! peeking at rate counts.

use fieldgate_store::{
    AppKey, AuditEvent, AuditFilter, Connection, Environment, SecretSlot, Session, Store,
    StoreError, Tenant, TenantKind, UserRecord,
};
use serde_json::json;

use super::control::client;
use super::{TENANT, app_and_tenant, assert_conflict, assert_not_found};

fn person(email: &str, developer_id: Option<i64>, tenant_id: Option<i64>) -> UserRecord {
    UserRecord {
        id: 0,
        email: email.into(),
        name: "Pat".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        developer_id,
        tenant_id,
        created_us: 42,
    }
}

pub async fn users_by_id_email_and_tenant(store: &dyn Store) {
    let app = app_and_tenant(store, &["a"]).await;
    let dev = app.developer_id;
    let d = store
        .create_user(&person("dana@example.com", Some(dev), None))
        .await
        .unwrap();
    let a = store
        .create_user(&person("ada@example.com", None, Some(TENANT)))
        .await
        .unwrap();
    let b = store
        .create_user(&person("bo@example.com", None, Some(TENANT)))
        .await
        .unwrap();
    assert_ne!(d, a);

    let got = store.user(d).await.unwrap().expect("user");
    assert_eq!(
        (
            got.email.as_str(),
            got.developer_id,
            got.tenant_id,
            got.created_us
        ),
        ("dana@example.com", Some(dev), None, 42)
    );
    assert!(got.password_hash.starts_with("$argon2id$"));
    let by_email = store
        .user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((by_email.id, by_email.tenant_id), (a, Some(TENANT)));
    assert!(
        store
            .user_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.user(b + 100).await.unwrap().is_none());

    let admins: Vec<i64> = store
        .users_of_tenant(TENANT)
        .await
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(admins, [a, b]);
    assert_conflict(
        store
            .create_user(&person("ada@example.com", Some(dev), None))
            .await,
    );
    // A person is a developer or a tenant admin, never both nor neither.
    assert!(
        store
            .create_user(&person("x@example.com", Some(dev), Some(TENANT)))
            .await
            .is_err()
    );
    assert!(
        store
            .create_user(&person("y@example.com", None, None))
            .await
            .is_err()
    );

    let devs = store.developers().await.unwrap();
    assert_eq!(devs.len(), 1);
    assert_eq!(
        store.developer(dev).await.unwrap().unwrap().email,
        "dana@example.com"
    );
    assert!(store.developer(dev + 1).await.unwrap().is_none());
}

pub async fn sessions_expire_and_end(store: &dyn Store) {
    let app = app_and_tenant(store, &["a"]).await;
    let id = store
        .create_user(&person("dana@example.com", Some(app.developer_id), None))
        .await
        .unwrap();
    let session = |digest: u8, created_us: i64, expires_us: i64| Session {
        digest: vec![digest; 32],
        user_id: id,
        created_us,
        expires_us,
    };
    store.create_session(&session(1, 100, 200)).await.unwrap();
    assert_eq!(
        store.session_user(&[1; 32], 150).await.unwrap().unwrap().id,
        id
    );
    assert!(
        store.session_user(&[1; 32], 200).await.unwrap().is_none(),
        "expired"
    );
    assert!(store.session_user(&[2; 32], 150).await.unwrap().is_none());

    // A new session clears those that expired before it began.
    store.create_session(&session(2, 300, 900)).await.unwrap();
    assert!(store.session_user(&[1; 32], 150).await.unwrap().is_none());
    assert!(store.session_user(&[2; 32], 400).await.unwrap().is_some());
    store.delete_session(&[2; 32]).await.unwrap();
    assert!(store.session_user(&[2; 32], 400).await.unwrap().is_none());
    store.delete_session(&[2; 32]).await.unwrap();
}

pub async fn apps_by_developer(store: &dyn Store) {
    let first = app_and_tenant(store, &["a"]).await;
    let other = store
        .create_developer("Lee", "lee@example.com")
        .await
        .unwrap();
    let second = store
        .create_app(other.id, "Two", &["b".into()])
        .await
        .unwrap();
    let third = store
        .create_app(first.developer_id, "Three", &[])
        .await
        .unwrap();
    let ids = |apps: Vec<fieldgate_store::App>| apps.iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.apps(Some(first.developer_id)).await.unwrap()),
        [first.id, third.id]
    );
    assert_eq!(ids(store.apps(Some(other.id)).await.unwrap()), [second.id]);
    assert_eq!(
        ids(store.apps(None).await.unwrap()),
        [first.id, second.id, third.id]
    );
}

pub async fn rotating_an_app_key_ends_the_others(store: &dyn Store) {
    let app = app_and_tenant(store, &["a"]).await;
    let key = |d: u8, created_us: i64, expires_us: Option<i64>| AppKey {
        digest: vec![d; 32],
        app_id: app.id,
        hint: format!("ak1.{d}"),
        created_us,
        expires_us,
    };
    store.add_app_key(&key(1, 10, None)).await.unwrap();
    store.add_app_key(&key(2, 20, Some(50))).await.unwrap();
    store.add_app_key(&key(3, 30, Some(5_000))).await.unwrap();

    store
        .rotate_app_key(&key(4, 40, None), 1_000)
        .await
        .unwrap();
    let keys = store.app_keys_of(app.id).await.unwrap();
    let seen: Vec<(String, Option<i64>)> = keys
        .iter()
        .map(|k| (k.hint.clone(), k.expires_us))
        .collect();
    // Newest first; an end sooner than the grace period stays as it was.
    assert_eq!(
        seen,
        [
            ("ak1.4".to_string(), None),
            ("ak1.3".to_string(), Some(1_000)),
            ("ak1.2".to_string(), Some(50)),
            ("ak1.1".to_string(), Some(1_000)),
        ]
    );
    assert_eq!(
        store.app_key(&[4; 32]).await.unwrap().unwrap().expires_us,
        None
    );
    assert_conflict(store.rotate_app_key(&key(4, 50, None), 60).await);
    // The failed rotation changed nothing.
    assert_eq!(
        store.app_key(&[1; 32]).await.unwrap().unwrap().expires_us,
        Some(1_000)
    );
    assert!(store.app_keys_of(app.id + 1).await.unwrap().is_empty());
}

pub async fn client_grant_knows_whether_an_app_key_is_live(store: &dyn Store) {
    let app = app_and_tenant(store, &["a"]).await;
    store.create_client(&client(app.id, "cid.k")).await.unwrap();
    assert!(
        !store
            .client_grant("cid.k")
            .await
            .unwrap()
            .unwrap()
            .app_key_live
    );
    let past = chrono::Utc::now().timestamp_micros() - 1_000_000;
    let key = AppKey {
        digest: vec![5; 32],
        app_id: app.id,
        hint: "ak1.5".into(),
        created_us: 1,
        expires_us: Some(past),
    };
    store.add_app_key(&key).await.unwrap();
    assert!(
        !store
            .client_grant("cid.k")
            .await
            .unwrap()
            .unwrap()
            .app_key_live
    );
    store
        .add_app_key(&AppKey {
            digest: vec![6; 32],
            expires_us: Some(past + 3_600_000_000),
            ..key
        })
        .await
        .unwrap();
    assert!(
        store
            .client_grant("cid.k")
            .await
            .unwrap()
            .unwrap()
            .app_key_live
    );
}

pub async fn connections_and_clients_by_app_and_tenant(store: &dyn Store) {
    let app = app_and_tenant(store, &["a"]).await;
    let other_tenant = Tenant {
        id: 77,
        name: "Other".into(),
        kind: TenantKind::Customer,
        created_us: 1,
    };
    store.create_tenant(&other_tenant).await.unwrap();
    for (tenant_id, environment) in [
        (TENANT, Environment::Production),
        (TENANT, Environment::Integration),
        (77, Environment::Integration),
    ] {
        let c = Connection {
            app_id: app.id,
            tenant_id,
            environment,
            scopes: vec!["a".into()],
            created_us: 5,
        };
        store.put_connection(&c).await.unwrap();
    }
    let of_app: Vec<(i64, Environment)> = store
        .connections_of_app(app.id)
        .await
        .unwrap()
        .iter()
        .map(|c| (c.tenant_id, c.environment))
        .collect();
    assert_eq!(
        of_app,
        [
            (77, Environment::Integration),
            (TENANT, Environment::Integration),
            (TENANT, Environment::Production)
        ]
    );
    assert_eq!(store.connections_of_tenant(77).await.unwrap().len(), 1);
    assert_eq!(store.connections_of_tenant(TENANT).await.unwrap().len(), 2);

    store.create_client(&client(app.id, "cid.a")).await.unwrap();
    store.create_client(&client(app.id, "cid.b")).await.unwrap();
    let mut elsewhere = client(app.id, "cid.c");
    elsewhere.tenant_id = 77;
    store.create_client(&elsewhere).await.unwrap();
    let ids: Vec<String> = store
        .clients_of_tenant(TENANT)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(ids, ["cid.a", "cid.b"]);

    // Disconnecting disables the clients of that (app, tenant, environment) only.
    store
        .delete_connection(app.id, TENANT, Environment::Integration)
        .await
        .unwrap();
    assert!(!store.client("cid.a").await.unwrap().unwrap().enabled);
    assert!(!store.client("cid.b").await.unwrap().unwrap().enabled);
    assert!(store.client("cid.c").await.unwrap().unwrap().enabled);
}

pub async fn secret_slots_fill_and_empty(store: &dyn Store) {
    let app = app_and_tenant(store, &["a"]).await;
    store.create_client(&client(app.id, "cid.s")).await.unwrap();
    let two = SecretSlot::Second;
    let one = SecretSlot::First;

    // The only secret cannot go; the empty slot cannot be emptied.
    assert!(matches!(
        store.set_secret_slot("cid.s", one, None, 50).await,
        Err(StoreError::Invalid(_))
    ));
    assert_not_found(store.set_secret_slot("cid.s", two, None, 50).await);
    assert_conflict(
        store
            .set_secret_slot("cid.s", one, Some(&[8; 32]), 50)
            .await,
    );

    store
        .set_secret_slot("cid.s", two, Some(&[8; 32]), 60)
        .await
        .unwrap();
    let c = store.client("cid.s").await.unwrap().unwrap();
    assert_eq!((c.secret2, c.secret2_us), (Some(vec![8; 32]), Some(60)));
    assert_eq!((c.secret1, c.secret1_us), (Some(vec![1; 32]), Some(33)));

    store.set_secret_slot("cid.s", one, None, 70).await.unwrap();
    let c = store.client("cid.s").await.unwrap().unwrap();
    assert_eq!((c.secret1, c.secret1_us), (None, None));
    assert!(c.secret2.is_some());
    assert!(matches!(
        store.set_secret_slot("cid.s", two, None, 80).await,
        Err(StoreError::Invalid(_))
    ));
    store
        .set_secret_slot("cid.s", one, Some(&[9; 32]), 90)
        .await
        .unwrap();
    let c = store.client("cid.s").await.unwrap().unwrap();
    assert_eq!((c.secret1, c.secret1_us), (Some(vec![9; 32]), Some(90)));
    assert_not_found(
        store
            .set_secret_slot("cid.none", one, Some(&[1; 32]), 1)
            .await,
    );
}

pub async fn audit_filters_by_tenant_app_and_time(store: &dyn Store) {
    let event = |at_us: i64, tenant_id: Option<i64>, app_id: Option<i64>| AuditEvent {
        at_us,
        actor: "operator".into(),
        action: format!("thing.at{at_us}"),
        tenant_id,
        app_id,
        environment: Some(Environment::Production),
        address: Some("10.0.0.1".into()),
        detail: json!({"n": at_us}),
    };
    for e in [
        event(100, Some(1), Some(7)),
        event(200, Some(2), Some(7)),
        event(300, Some(1), None),
        event(400, None, Some(8)),
    ] {
        store.append_audit(&e).await.unwrap();
    }
    let times = |f: AuditFilter| async move {
        store
            .audit_query(&AuditFilter { limit: 10, ..f })
            .await
            .unwrap()
            .iter()
            .map(|e| e.at_us)
            .collect::<Vec<_>>()
    };
    assert_eq!(times(AuditFilter::default()).await, [400, 300, 200, 100]);
    let tenant = |t| AuditFilter {
        tenant_id: Some(t),
        ..Default::default()
    };
    assert_eq!(times(tenant(1)).await, [300, 100]);
    let app = AuditFilter {
        app_id: Some(7),
        ..Default::default()
    };
    assert_eq!(times(app).await, [200, 100]);
    let both = AuditFilter {
        tenant_id: Some(1),
        app_id: Some(7),
        ..Default::default()
    };
    assert_eq!(times(both).await, [100]);
    let window = AuditFilter {
        since_us: Some(200),
        until_us: Some(400),
        ..Default::default()
    };
    assert_eq!(
        times(window).await,
        [300, 200],
        "since inclusive, until exclusive"
    );
    let one = store
        .audit_query(&AuditFilter {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].detail, json!({"n": 400}));
    assert_eq!(one[0].address.as_deref(), Some("10.0.0.1"));
}

pub async fn rate_peek_counts_without_admitting(store: &dyn Store) {
    assert_eq!(store.rate_peek("fg:peek", 2, 60_000).await.unwrap(), Ok(()));
    store.rate_hit("fg:peek", 2, 60_000).await.unwrap().unwrap();
    assert_eq!(store.rate_peek("fg:peek", 2, 60_000).await.unwrap(), Ok(()));
    store.rate_hit("fg:peek", 2, 60_000).await.unwrap().unwrap();
    for _ in 0..3 {
        let wait = store
            .rate_peek("fg:peek", 2, 60_000)
            .await
            .unwrap()
            .unwrap_err();
        assert!((1..=60_000).contains(&wait), "{wait}");
    }
    assert_eq!(
        store.rate_peek("fg:other", 2, 60_000).await.unwrap(),
        Ok(())
    );
}
