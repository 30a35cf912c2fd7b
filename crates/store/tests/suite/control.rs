//! The control plane: developers, apps, keys, tenants, connections, clients, signing keys and
//! the audit log.

use fieldgate_store::{
    AppKey, AuditEvent, Client, Connection, Environment, SigningKey, Store, Tenant, TenantKind,
};
use serde_json::json;

use super::{TENANT, app_and_tenant, assert_conflict, assert_not_found};

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| s.to_string()).collect()
}

pub async fn developers_and_apps(store: &dyn Store) {
    let dana = store
        .create_developer("Dana", "dana@example.com")
        .await
        .unwrap();
    let lee = store
        .create_developer("Lee", "lee@example.com")
        .await
        .unwrap();
    assert_eq!(
        (dana.name.as_str(), dana.email.as_str()),
        ("Dana", "dana@example.com")
    );
    assert_ne!(dana.id, lee.id);
    assert!(
        dana.created_us > 1_600_000_000_000_000,
        "{}",
        dana.created_us
    );

    let scopes = strings(&["tn.crm:customers", "tn.jpm:jobs"]);
    let app = store.create_app(lee.id, "Board", &scopes).await.unwrap();
    let got = store.app(app.id).await.unwrap().expect("app stored");
    assert_eq!(got.developer_id, lee.id);
    assert_eq!(got.name, "Board");
    assert_eq!(got.scopes, scopes);
    assert_eq!(got.created_us, app.created_us);
    assert!(store.app(app.id + 1000).await.unwrap().is_none());
}

pub async fn duplicate_developer_email_conflicts(store: &dyn Store) {
    store
        .create_developer("Dana", "dana@example.com")
        .await
        .unwrap();
    assert_conflict(store.create_developer("Other", "dana@example.com").await);
}

pub async fn app_keys_by_digest(store: &dyn Store) {
    let app = app_and_tenant(store, &["tn.crm:customers"]).await;
    let key = AppKey {
        digest: vec![0, 1, 2, 255],
        app_id: app.id,
        hint: "ak1.abc".into(),
        created_us: 5,
        expires_us: Some(99),
    };
    store.add_app_key(&key).await.unwrap();
    store
        .add_app_key(&AppKey {
            digest: vec![9; 32],
            expires_us: None,
            ..key.clone()
        })
        .await
        .unwrap();

    let got = store.app_key(&[0, 1, 2, 255]).await.unwrap().expect("key");
    assert_eq!(
        (
            got.digest,
            got.app_id,
            got.hint,
            got.created_us,
            got.expires_us
        ),
        (
            key.digest.clone(),
            app.id,
            "ak1.abc".to_string(),
            5,
            Some(99)
        )
    );
    let other = store.app_key(&[9; 32]).await.unwrap().expect("second key");
    assert_eq!(other.expires_us, None);
    assert!(store.app_key(&[0, 1, 2]).await.unwrap().is_none());
    assert_conflict(store.add_app_key(&key).await);
}

pub async fn tenants(store: &dyn Store) {
    let big = Tenant {
        id: 4_100_000_000,
        name: "Zeta Heating".into(),
        kind: TenantKind::Developer,
        created_us: 7,
    };
    let small = Tenant {
        id: 12,
        name: "Acme".into(),
        kind: TenantKind::Customer,
        created_us: 8,
    };
    store.create_tenant(&big).await.unwrap();
    store.create_tenant(&small).await.unwrap();

    let got = store.tenant(big.id).await.unwrap().expect("tenant");
    assert_eq!(
        (got.id, got.name.as_str(), got.kind, got.created_us),
        (4_100_000_000, "Zeta Heating", TenantKind::Developer, 7)
    );
    let all: Vec<_> = store
        .tenants()
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(all, [12, 4_100_000_000]);
    assert!(store.tenant(13).await.unwrap().is_none());
    assert_conflict(store.create_tenant(&small).await);
}

pub async fn connections_upsert_and_delete(store: &dyn Store) {
    let app = app_and_tenant(store, &["a", "b"]).await;
    let prod = Environment::Production;
    let conn = Connection {
        app_id: app.id,
        tenant_id: TENANT,
        environment: prod,
        scopes: strings(&["a"]),
        created_us: 10,
    };
    store.put_connection(&conn).await.unwrap();
    let got = store
        .connection(app.id, TENANT, prod)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.scopes, got.created_us), (strings(&["a"]), 10));
    let integ = Environment::Integration;
    assert!(
        store
            .connection(app.id, TENANT, integ)
            .await
            .unwrap()
            .is_none()
    );

    // Putting it again changes the scopes and keeps when it was first made.
    let again = Connection {
        scopes: strings(&["a", "b"]),
        created_us: 20,
        ..conn.clone()
    };
    store.put_connection(&again).await.unwrap();
    let got = store
        .connection(app.id, TENANT, prod)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.scopes, got.created_us), (strings(&["a", "b"]), 10));

    store.delete_connection(app.id, TENANT, prod).await.unwrap();
    assert!(
        store
            .connection(app.id, TENANT, prod)
            .await
            .unwrap()
            .is_none()
    );
    assert_not_found(store.delete_connection(app.id, TENANT, prod).await);
}

pub fn client(app_id: i64, client_id: &str) -> Client {
    Client {
        client_id: client_id.into(),
        app_id,
        tenant_id: TENANT,
        environment: Environment::Integration,
        secret1: Some(vec![1; 32]),
        secret2: None,
        enabled: true,
        created_us: 33,
        secret1_us: Some(33),
        secret2_us: None,
    }
}

pub async fn clients_enable_and_disable(store: &dyn Store) {
    let app = app_and_tenant(store, &["a"]).await;
    let c = client(app.id, "cid.one");
    store.create_client(&c).await.unwrap();

    let got = store.client("cid.one").await.unwrap().expect("client");
    assert_eq!(
        (got.app_id, got.tenant_id, got.environment, got.created_us),
        (app.id, TENANT, Environment::Integration, 33)
    );
    assert_eq!(
        (got.secret1, got.secret2, got.enabled),
        (Some(vec![1; 32]), None, true)
    );

    store.set_client_enabled("cid.one", false).await.unwrap();
    assert!(!store.client("cid.one").await.unwrap().unwrap().enabled);
    store.set_client_enabled("cid.one", true).await.unwrap();
    assert!(store.client("cid.one").await.unwrap().unwrap().enabled);

    assert_not_found(store.set_client_enabled("cid.none", false).await);
    assert!(store.client("cid.none").await.unwrap().is_none());
    assert_conflict(store.create_client(&client(app.id, "cid.one")).await);
}

pub async fn client_grant_follows_the_connection(store: &dyn Store) {
    let app = app_and_tenant(store, &["a", "b"]).await;
    store.create_client(&client(app.id, "cid.g")).await.unwrap();

    let grant = store.client_grant("cid.g").await.unwrap().expect("grant");
    assert_eq!(grant.client.client_id, "cid.g");
    assert_eq!(grant.app_scopes, strings(&["a", "b"]));
    assert_eq!(grant.granted, None);

    // A connection in the other environment grants nothing to this client.
    let mut conn = Connection {
        app_id: app.id,
        tenant_id: TENANT,
        environment: Environment::Production,
        scopes: strings(&["b"]),
        created_us: 1,
    };
    store.put_connection(&conn).await.unwrap();
    let grant = store.client_grant("cid.g").await.unwrap().unwrap();
    assert_eq!(grant.granted, None);

    conn.environment = Environment::Integration;
    store.put_connection(&conn).await.unwrap();
    let grant = store.client_grant("cid.g").await.unwrap().unwrap();
    assert_eq!(grant.granted, Some(strings(&["b"])));

    let env = Environment::Integration;
    store.delete_connection(app.id, TENANT, env).await.unwrap();
    let grant = store.client_grant("cid.g").await.unwrap().unwrap();
    assert_eq!(grant.granted, None);
    assert!(store.client_grant("cid.none").await.unwrap().is_none());
}

fn signing_key(kid: &str, environment: Environment, created_us: i64) -> SigningKey {
    SigningKey {
        kid: kid.into(),
        environment,
        private_sealed: format!("sealed {kid}").into_bytes(),
        public_key: vec![7; 32],
        created_us,
        retire_after_us: None,
    }
}

pub async fn signing_keys_newest_first(store: &dyn Store) {
    let prod = Environment::Production;
    for (kid, at) in [("k100", 100), ("a300", 300), ("k200", 200), ("Z300", 300)] {
        store
            .add_signing_key(&signing_key(kid, prod, at))
            .await
            .unwrap();
    }
    let mut retiring = signing_key("i1", Environment::Integration, 400);
    retiring.retire_after_us = Some(900);
    store.add_signing_key(&retiring).await.unwrap();

    let keys = store.signing_keys(prod).await.unwrap();
    let kids: Vec<_> = keys.iter().map(|k| k.kid.as_str()).collect();
    // Ties on time go by kid, byte-wise, so `Z` comes before `a`.
    assert_eq!(kids, ["Z300", "a300", "k200", "k100"]);
    assert_eq!(keys[3].private_sealed, b"sealed k100");
    assert_eq!(keys[3].public_key, vec![7; 32]);
    assert!(keys.iter().all(|k| k.environment == prod));

    let integ = store.signing_keys(Environment::Integration).await.unwrap();
    assert_eq!(integ.len(), 1);
    assert_eq!(
        (integ[0].created_us, integ[0].retire_after_us),
        (400, Some(900))
    );
    assert_conflict(store.add_signing_key(&signing_key("k100", prod, 1)).await);
}

pub async fn audit_events_since(store: &dyn Store) {
    let event = |at_us: i64, action: &str| AuditEvent {
        at_us,
        actor: "operator".into(),
        action: action.into(),
        tenant_id: None,
        app_id: None,
        environment: None,
        address: None,
        detail: json!({}),
    };
    let full = AuditEvent {
        tenant_id: Some(TENANT),
        app_id: Some(4),
        environment: Some(Environment::Production),
        address: Some("10.0.0.1".into()),
        detail: json!({"clientId": "cid.x", "n": 2}),
        ..event(300, "client.created")
    };
    // Appended out of time order: reads follow the order of appending.
    store
        .append_audit(&event(200, "tenant.created"))
        .await
        .unwrap();
    store
        .append_audit(&event(100, "developer.created"))
        .await
        .unwrap();
    store.append_audit(&full).await.unwrap();

    let all = store.audit_events(None, 10).await.unwrap();
    let actions: Vec<_> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["tenant.created", "developer.created", "client.created"]
    );
    let last = &all[2];
    assert_eq!((last.at_us, last.actor.as_str()), (300, "operator"));
    assert_eq!((last.tenant_id, last.app_id), (Some(TENANT), Some(4)));
    assert_eq!(last.environment, Some(Environment::Production));
    assert_eq!(last.address.as_deref(), Some("10.0.0.1"));
    assert_eq!(last.detail, json!({"clientId": "cid.x", "n": 2}));
    assert_eq!(
        (all[0].environment, all[0].address.as_deref()),
        (None, None)
    );

    let since: Vec<_> = store.audit_events(Some(200), 10).await.unwrap();
    let at: Vec<_> = since.iter().map(|e| e.at_us).collect();
    assert_eq!(at, [200, 300]);
    let first = store.audit_events(None, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].action, "tenant.created");
}

pub async fn rate_hits_admit_the_limit_per_span(store: &dyn Store) {
    for _ in 0..5 {
        assert_eq!(store.rate_hit("k1", 5, 60_000).await.unwrap(), Ok(()));
    }
    let wait = store.rate_hit("k1", 5, 60_000).await.unwrap().unwrap_err();
    assert!((1..=60_000).contains(&wait), "{wait}");
    // Another key has its own log, and a short span frees its slots quickly.
    assert_eq!(store.rate_hit("k2", 1, 50).await.unwrap(), Ok(()));
    assert!(store.rate_hit("k2", 1, 50).await.unwrap().is_err());
    tokio::time::sleep(std::time::Duration::from_millis(80)).await;
    assert_eq!(store.rate_hit("k2", 1, 50).await.unwrap(), Ok(()));
}

pub async fn purging_keeps_entries_still_in_their_span(store: &dyn Store) {
    // Entries far older than any span, for a key that is never hit again.
    store.rate_hit("idle", 5, 60_000).await.unwrap().unwrap();
    for _ in 0..400 {
        store.rate_hit("busy", 1_000_000, 1).await.unwrap().unwrap();
    }
    // The idle entry is younger than two minutes, so it must survive every purge.
    assert!(store.rate_hit("idle", 1, 60_000).await.unwrap().is_err());
}
