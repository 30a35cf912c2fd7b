//! Runs one conformance case against a fresh store of each backend.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use fieldgate_store::Store;
use fieldgate_store::postgres::PgStore;
use fieldgate_store::sqlite::SqliteStore;
use futures_util::FutureExt;
use sqlx::{Connection, PgConnection};

/// A conformance case: drives a store and panics on the first difference from the contract.
pub type Case = for<'a> fn(&'a dyn Store) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The server's maintenance database, used to create and drop one database per test. Set
/// `FIELDGATE_TEST_POSTGRES` to use another server.
const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub async fn on_sqlite(case: Case) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("store.db"))
        .await
        .expect("open SQLite store");
    case(&store).await;
    store.close().await;
}

pub async fn on_postgres(case: Case) {
    let admin = std::env::var("FIELDGATE_TEST_POSTGRES").unwrap_or_else(|_| ADMIN_URL.into());
    let name = database_name();
    let mut conn = PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL must run on 127.0.0.1:5432 for the conformance suite");
    // A linguistic default collation, as production databases often have ('Banana' > 'apple'),
    // so a comparison that forgets `COLLATE "C"` fails here. Servers without ICU get the default.
    let icu = format!(
        "CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' \
         LOCALE 'C.UTF-8'"
    );
    if sqlx::query(&icu).execute(&mut conn).await.is_err() {
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
    }
    let (server, _) = admin.rsplit_once('/').expect("URL names a database");
    let store = PgStore::connect(&format!("{server}/{name}"))
        .await
        .expect("connect PgStore");

    // Caught so the database is dropped when the case fails too; the panic goes on after.
    let outcome = AssertUnwindSafe(case(&store)).catch_unwind().await;
    store.close().await;
    let dropped = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await;
    if let Err(e) = dropped {
        eprintln!("could not drop test database {name}: {e}");
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Unique across the tests of this run and across runs, so runs can overlap.
fn database_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    format!(
        "fg_test_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
