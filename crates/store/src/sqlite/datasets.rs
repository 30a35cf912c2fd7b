//! One SQLite file per dataset generation, `datasets/{environment}-{tenant}-g{generation}.db`,
//! so a refresh copies a dataset as a file (as fast as `cp`) instead of row by row, and switches
//! to it by changing one row of the main file.
//!
//! Each served generation has its own writer and reader pools. A process re-reads which
//! generation is served at most every [`RECHECK`], so a switch made by another process (the
//! CLI) reaches a running server too; within a process the switch is immediate.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection};

use crate::*;

/// How long a process trusts what it read of the served generation.
const RECHECK: Duration = Duration::from_millis(500);

/// The tables of a dataset file. The records table is the main file's of 0001 without the
/// dataset column: the file is the dataset.
const TABLES: &str = "
CREATE TABLE IF NOT EXISTS records (
    resource TEXT NOT NULL,
    id INTEGER NOT NULL,
    parent_id INTEGER,
    created_us INTEGER NOT NULL,
    modified_us INTEGER NOT NULL,
    active INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (resource, id)
);
CREATE TABLE IF NOT EXISTS id_sequence (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    next_id INTEGER NOT NULL
);
";

/// The secondary indexes. A file filled from nothing (seed, sample data) gets them only when
/// it is published: built once by sorting, they cost a fraction of keeping three B-trees in
/// order row by row, which at millions of rows no longer fit in the cache.
const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS records_by_modified ON records (resource, modified_us, id);
CREATE INDEX IF NOT EXISTS records_by_created ON records (resource, created_us);
CREATE INDEX IF NOT EXISTS records_by_parent ON records (resource, parent_id)
    WHERE parent_id IS NOT NULL;
";

/// How the bulk connection builds the indexes. SQLite's sorter gathers keys in memory up to
/// the page cache's size, sorts that run and spills it, then merges the runs; with helper
/// threads a run is sorted while the table is scanned for the next. Small runs keep both cores
/// busy: on a file of 5.8 M rows, 16 MiB runs built each large index in about half the time
/// that one run of 512 MiB (the most SQLite allows) took. The table is read through a map of
/// the file rather than copied out of it page by page.
const INDEX_BUILD: &str =
    "PRAGMA cache_size = -16384; PRAGMA threads = 2; PRAGMA mmap_size = 1099511627776";

/// Opens a staged file for one thread to write in bulk through rusqlite, as the pooled bulk
/// connection writes it: no journal and no syncing until publish, and freed space zeroed so a
/// replaced value leaves nothing behind in the file. (Not through a map of the file: a job run
/// by the server would unmap tens of GB at its end, stalling the server's other threads while
/// it happens, for no gain measured in the masking rewrite.)
pub(super) fn open_staged_file(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // A reader closing its handle on the file (a sweep, an inspection) must not fail the copy.
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; \
         PRAGMA cache_size = -64000; PRAGMA secure_delete = ON;",
    )?;
    Ok(conn)
}

async fn run_script(conn: &mut sqlx::SqliteConnection, script: &str) -> Result<()> {
    for statement in script.split(';').filter(|s| !s.trim().is_empty()) {
        sqlx::query(statement).execute(&mut *conn).await?;
    }
    Ok(())
}

/// A served generation of a dataset and its pools.
pub(super) struct DataDb {
    pub generation: i64,
    pub path: PathBuf,
    pub writer: SqlitePool,
    pub readers: SqlitePool,
}

#[derive(Clone)]
struct Served {
    db: Option<Arc<DataDb>>,
    checked: Instant,
}

pub(super) struct DataFiles {
    dir: PathBuf,
    served: Mutex<HashMap<Dataset, Served>>,
    /// Held while the served generation is read and installed, so a switch cannot be undone
    /// by a reader that read the pointer just before it.
    switching: tokio::sync::Mutex<()>,
    /// The bulk connection of a staged generation (index builds, copies), kept between calls.
    bulk: tokio::sync::Mutex<Option<(Staged, sqlx::SqliteConnection)>>,
    /// The connection writing rows into a staged generation ([`DataFiles::fill`]), kept
    /// between calls. A file has one of the two open at a time.
    filler: std::sync::Mutex<Option<(Staged, rusqlite::Connection)>>,
    /// Whether this process removes the files of generations it replaces (see
    /// `Store::leave_replaced_files`).
    pub remove_replaced: std::sync::atomic::AtomicBool,
}

/// Options of a dataset file's connections. Freed space is zeroed (`secure_delete`), so an
/// overwritten value (a masked name, an updated record) leaves nothing behind in the file.
fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .pragma("cache_size", "-16000")
        .pragma("secure_delete", "ON")
}

/// Removes a dataset file and its companions off the async threads (see
/// [`remove_files_now`]).
pub(super) async fn remove_files(path: &Path) -> std::io::Result<()> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || remove_files_now(&path))
        .await
        .map_err(std::io::Error::other)?
}

/// How much of a file is freed at a time when it is removed.
const SHRINK_STEP: u64 = 256 << 20;

/// Removes a dataset file and its companions. Freeing a file of tens of GB in one unlink
/// takes seconds in the kernel, during which this process's requests stalled for up to a
/// second; the file is cut from the end a slice at a time first. Only for a file no
/// connection reads any more.
fn remove_files_now(path: &Path) -> std::io::Result<()> {
    if let Ok(file) = std::fs::OpenOptions::new().write(true).open(path) {
        let mut len = file.metadata()?.len();
        while len > SHRINK_STEP {
            len -= SHRINK_STEP;
            file.set_len(len)?;
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(PathBuf::from(p)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::Io(std::io::Error::other(e))
}

impl DataFiles {
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            served: Mutex::new(HashMap::new()),
            switching: tokio::sync::Mutex::new(()),
            bulk: tokio::sync::Mutex::new(None),
            filler: std::sync::Mutex::new(None),
            remove_replaced: true.into(),
        })
    }

    pub fn path(&self, dataset: Dataset, generation: i64) -> PathBuf {
        self.dir.join(format!(
            "{}-{}-g{generation}.db",
            dataset.environment, dataset.tenant
        ))
    }

    async fn open(&self, dataset: Dataset, generation: i64) -> Result<DataDb> {
        let path = self.path(dataset, generation);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options(&path))
            .await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .idle_timeout(Duration::from_secs(60))
            .connect_lazy_with(options(&path).read_only(true));
        Ok(DataDb {
            generation,
            path,
            writer,
            readers,
        })
    }

    fn cached(&self, dataset: Dataset) -> Option<Option<Arc<DataDb>>> {
        let served = self.served.lock().expect("served map");
        served
            .get(&dataset)
            .filter(|s| s.checked.elapsed() < RECHECK)
            .map(|s| s.db.clone())
    }

    /// Makes the next lookup of `dataset` read the pointer again.
    pub fn forget(&self, dataset: Dataset) {
        self.served.lock().expect("served map").remove(&dataset);
    }

    fn install(&self, dataset: Dataset, db: Option<Arc<DataDb>>) -> Option<Arc<DataDb>> {
        let mut served = self.served.lock().expect("served map");
        let old = served.insert(
            dataset,
            Served {
                db: db.clone(),
                checked: Instant::now(),
            },
        );
        let old = old.and_then(|o| o.db)?;
        match &db {
            Some(new) if Arc::ptr_eq(new, &old) => None,
            _ => Some(old),
        }
    }

    /// The served generation of `dataset`, or `None` while it has no records at all.
    pub async fn current(
        &self,
        main: &SqlitePool,
        dataset: Dataset,
    ) -> Result<Option<Arc<DataDb>>> {
        if let Some(db) = self.cached(dataset) {
            return Ok(db);
        }
        let _switching = self.switching.lock().await;
        if let Some(db) = self.cached(dataset) {
            return Ok(db);
        }
        let generation: i64 =
            sqlx::query_scalar("SELECT generation FROM datasets WHERE dataset = ?")
                .bind(dataset.key())
                .fetch_optional(main)
                .await?
                .unwrap_or(0);
        let known = self
            .served
            .lock()
            .expect("served map")
            .get(&dataset)
            .and_then(|s| s.db.clone());
        let db = match known {
            Some(db) if db.generation == generation => Some(db),
            _ if generation == 0 => None,
            _ => Some(Arc::new(self.open(dataset, generation).await?)),
        };
        if let Some(old) = self.install(dataset, db.clone()) {
            // Switched by another process, which leaves the old file to the process serving
            // it, or has removed it already.
            retire(old, self.remove_replaced.load(Ordering::Relaxed));
        }
        Ok(db)
    }

    /// The served generation, created empty if the dataset has none yet.
    pub async fn writable(
        &self,
        main_readers: &SqlitePool,
        main_writer: &SqlitePool,
        dataset: Dataset,
    ) -> Result<Arc<DataDb>> {
        if let Some(db) = self.current(main_readers, dataset).await? {
            return Ok(db);
        }
        let generation = next_generation(main_writer, dataset).await?;
        let path = self.path(dataset, generation);
        // A file of a generation number just handed out can only be a leftover.
        remove_files(&path).await?;
        create_file(&path, true).await?;
        let _switching = self.switching.lock().await;
        let claimed =
            sqlx::query("UPDATE datasets SET generation = ? WHERE dataset = ? AND generation = 0")
                .bind(generation)
                .bind(dataset.key())
                .execute(main_writer)
                .await?
                .rows_affected();
        self.forget(dataset);
        drop(_switching);
        if claimed == 0 {
            // Another caller created the dataset first.
            remove_files(&path).await?;
        }
        self.current(main_readers, dataset)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("dataset {}", dataset.key())))
    }

    /// Copies the served generation of `source` (if any) into a new generation of `target`.
    pub async fn stage(
        &self,
        main_readers: &SqlitePool,
        main_writer: &SqlitePool,
        target: Dataset,
        source: Option<Dataset>,
        progress: Progress,
    ) -> Result<(Staged, u64)> {
        let generation = next_generation(main_writer, target).await?;
        let staged = Staged { target, generation };
        let path = self.path(target, generation);
        remove_files(&path).await?;
        let from = match source {
            Some(source) => self.current(main_readers, source).await?,
            None => None,
        };
        let Some(from) = from else {
            create_file(&path, false).await?;
            return Ok((staged, 0));
        };

        // Holding the source's one writer connection keeps every write out while the files
        // are copied, so the copy is the dataset at one moment; reads go on.
        let mut held = from.writer.acquire().await?;
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut *held)
            .await?;
        // Progress in rows: bytes copied, scaled by the last rowid (as many as the rows, as
        // records are never deleted).
        let rows_guess: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(rowid), 0) FROM records")
            .fetch_one(&mut *held)
            .await?;
        let in_rows: Progress = Arc::new(move |done, total| {
            let rows = rows_guess.max(0) as u64;
            progress(
                (done as f64 / total.max(1) as f64 * rows as f64) as u64,
                rows,
            )
        });
        let (src, dst) = (from.path.clone(), path.clone());
        let copy = tokio::task::spawn_blocking(move || copy_files(&src, &dst, &in_rows));
        let count =
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM records").fetch_one(&from.readers);
        let (copied, rows) = tokio::join!(copy, count);
        copied.map_err(join_error)??;
        drop(held);
        Ok((staged, rows? as u64))
    }

    /// The connection to a staged file for bulk work: no journal (a crash discards the file
    /// anyway) and no syncing until it is published. One is kept open between calls.
    pub async fn bulk(
        &self,
        staged: &Staged,
    ) -> Result<tokio::sync::MappedMutexGuard<'_, sqlx::SqliteConnection>> {
        self.end_fill(staged)?;
        let mut held = self.bulk.lock().await;
        if held.as_ref().is_none_or(|(s, _)| s != staged) {
            if let Some((_, old)) = held.take() {
                old.close().await?;
            }
            let path = self.path(staged.target, staged.generation);
            let conn = options(&path)
                .journal_mode(SqliteJournalMode::Off)
                .synchronous(SqliteSynchronous::Off)
                .pragma("cache_size", "-64000")
                // Bulk statements (an index over millions of rows) take seconds by design;
                // sqlx's slow-statement warning would interrupt a seed's progress bar.
                .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1))
                .connect()
                .await?;
            *held = Some((*staged, conn));
        }
        Ok(tokio::sync::MutexGuard::map(held, |h| {
            &mut h.as_mut().expect("opened above").1
        }))
    }

    /// Writes rows into a staged generation. Millions of rows come this way when a dataset is
    /// seeded: they go through rusqlite on a blocking thread, one statement prepared once and
    /// executed per row, as the masking rewrite writes its rows, rather than through sqlx's
    /// multi-row statements built and bound anew for every call.
    pub async fn fill(
        self: &Arc<Self>,
        staged: &Staged,
        resource: &str,
        records: &[Record],
    ) -> Result<()> {
        self.end_bulk(staged).await?;
        let (files, staged) = (self.clone(), *staged);
        let (resource, records) = (resource.to_string(), records.to_vec());
        tokio::task::spawn_blocking(move || files.fill_now(&staged, &resource, &records))
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))?
    }

    fn fill_now(&self, staged: &Staged, resource: &str, records: &[Record]) -> Result<()> {
        let mut held = self.filler.lock().expect("a filling thread panicked");
        if held.as_ref().is_none_or(|(s, _)| s != staged) {
            let conn = open_staged_file(&self.path(staged.target, staged.generation))?;
            *held = Some((*staged, conn));
        }
        let (_, conn) = held.as_mut().expect("opened above");
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO records \
                 (resource, id, parent_id, created_us, modified_us, active, doc) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )?;
            for r in records {
                insert.execute(rusqlite::params![
                    resource,
                    r.id,
                    r.parent_id,
                    r.created_us,
                    r.modified_us,
                    r.active,
                    r.doc
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Closes the filling connection of `staged`, if it is open.
    pub fn end_fill(&self, staged: &Staged) -> Result<()> {
        let mut held = self.filler.lock().expect("a filling thread panicked");
        if held.as_ref().is_some_and(|(s, _)| s == staged)
            && let Some((_, conn)) = held.take()
        {
            conn.close().map_err(|(_, e)| e)?;
        }
        Ok(())
    }

    /// Closes the bulk connection of `staged`, if it is open.
    pub async fn end_bulk(&self, staged: &Staged) -> Result<()> {
        let mut held = self.bulk.lock().await;
        if held.as_ref().is_some_and(|(s, _)| s == staged)
            && let Some((_, conn)) = held.take()
        {
            conn.close().await?;
        }
        Ok(())
    }

    /// Makes a staged generation the served one; returns the replaced generation.
    pub async fn publish(
        &self,
        main_readers: &SqlitePool,
        main_writer: &SqlitePool,
        staged: &Staged,
        next_id: i64,
    ) -> Result<i64> {
        // A stage filled from nothing gets its indexes now; a copy has them already.
        {
            let mut bulk = self.bulk(staged).await?;
            run_script(&mut bulk, INDEX_BUILD).await?;
            run_script(&mut bulk, INDEXES).await?;
        }
        self.end_bulk(staged).await?;
        let target = staged.target;
        let path = self.path(target, staged.generation);
        let old = self.current(main_readers, target).await?;
        let mut floor = next_id;
        if let Some(old) = &old {
            let old_next: Option<i64> =
                sqlx::query_scalar("SELECT next_id FROM id_sequence WHERE one = 1")
                    .fetch_optional(&old.writer)
                    .await?;
            floor = floor.max(old_next.unwrap_or(0));
        }

        // Back to WAL with full syncing, the id floor set, and everything on disk.
        let mut conn = options(&path).connect().await?;
        sqlx::query(
            "INSERT INTO id_sequence (one, next_id) VALUES (1, ?) \
             ON CONFLICT (one) DO UPDATE SET next_id = MAX(next_id, excluded.next_id)",
        )
        .bind(floor)
        .execute(&mut conn)
        .await?;
        conn.close().await?;
        let (file, dir) = (path.clone(), self.dir.clone());
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::File::open(&file)?.sync_all()?;
            std::fs::File::open(&dir)?.sync_all()
        })
        .await
        .map_err(join_error)??;
        let db = Arc::new(self.open(target, staged.generation).await?);

        // The switch: one row of the main file, and this process's pools with it.
        let switching = self.switching.lock().await;
        let mut tx = main_writer.begin_with("BEGIN IMMEDIATE").await?;
        let replaced: i64 = sqlx::query_scalar("SELECT generation FROM datasets WHERE dataset = ?")
            .bind(target.key())
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("UPDATE datasets SET generation = ? WHERE dataset = ?")
            .bind(staged.generation)
            .bind(target.key())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let retired = self.install(target, Some(db));
        drop(switching);

        // Readers still on the old generation finish first; then its files go.
        if let Some(old) = retired {
            retire(old, self.remove_replaced.load(Ordering::Relaxed));
        }
        Ok(replaced)
    }

    pub async fn discard(&self, staged: &Staged) -> Result<()> {
        self.end_fill(staged)?;
        self.end_bulk(staged).await?;
        Ok(remove_files(&self.path(staged.target, staged.generation)).await?)
    }

    /// Removes dataset files that are not served and were not written for `idle_us`, except
    /// those of `keep` tenants.
    pub async fn sweep(&self, main: &SqlitePool, keep: &[i64], idle_us: i64) -> Result<u64> {
        let served: HashMap<String, i64> =
            sqlx::query_as::<_, (String, i64)>("SELECT dataset, generation FROM datasets")
                .fetch_all(main)
                .await?
                .into_iter()
                .collect();
        let mut removed = 0;
        let idle = Duration::from_micros(idle_us.max(0) as u64);
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((dataset, generation)) = parse_name(&name) else {
                continue;
            };
            if keep.contains(&dataset.tenant) || served.get(&dataset.key()) == Some(&generation) {
                continue;
            }
            // Being filled by another process (a seed) keeps a file fresh.
            let written = entry.metadata()?.modified()?;
            if written.elapsed().unwrap_or_default() < idle {
                continue;
            }
            remove_files(&self.path(dataset, generation)).await?;
            tracing::info!(file = %name, "removed a dataset file no generation serves");
            removed += 1;
        }
        Ok(removed)
    }
}

/// `integration-5-g3.db` → (integration/5, 3).
fn parse_name(name: &str) -> Option<(Dataset, i64)> {
    let stem = name.strip_suffix(".db")?;
    let (rest, generation) = stem.rsplit_once("-g")?;
    let (env, tenant) = rest.split_once('-')?;
    Some((
        Dataset::new(env.parse().ok()?, tenant.parse().ok()?),
        generation.parse().ok()?,
    ))
}

async fn close(db: &DataDb) {
    db.readers.close().await;
    db.writer.close().await;
}

/// Closes a replaced generation's pools once its readers are done and then, if `remove`,
/// removes its files, on a blocking thread: the removal frees the whole file, and must come
/// after this process's last handle on it (see `Store::leave_replaced_files` for why another
/// process must not remove it first).
fn retire(old: Arc<DataDb>, remove: bool) {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        runtime.block_on(close(&old));
        if !remove {
            return;
        }
        // Other processes reading the old generation see the switch within `RECHECK`.
        std::thread::sleep(2 * RECHECK);
        if let Err(e) = remove_files_now(&old.path) {
            tracing::warn!(path = %old.path.display(), error = %e, "removing a replaced dataset file failed");
        }
    });
}

async fn next_generation(main_writer: &SqlitePool, dataset: Dataset) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO datasets (dataset, generation, next_generation) VALUES (?, 0, 1) \
         ON CONFLICT (dataset) DO UPDATE SET next_generation = next_generation + 1 \
         RETURNING next_generation",
    )
    .bind(dataset.key())
    .fetch_one(main_writer)
    .await?)
}

/// A new, empty dataset file; without its secondary indexes when it is a stage to be filled.
async fn create_file(path: &Path, indexed: bool) -> Result<()> {
    // Pages of 16 KiB: a typical document is 1 to 3 KiB, and scans (index builds, exports)
    // make a quarter of the reads of 4 KiB pages.
    let mut conn = options(path)
        .page_size(16384)
        .create_if_missing(true)
        .connect()
        .await?;
    run_script(&mut conn, TABLES).await?;
    if indexed {
        run_script(&mut conn, INDEXES).await?;
    }
    conn.close().await?;
    Ok(())
}

/// Copies a database file and its write-ahead log, telling progress in bytes.
fn copy_files(from: &Path, to: &Path, progress: &Progress) -> std::io::Result<()> {
    use std::io::Read;
    const CHUNK: u64 = 64 << 20;
    let mut src = std::fs::File::open(from)?;
    let total = src.metadata()?.len();
    let mut dst = std::fs::File::create(to)?;
    // The total is known before the first chunk lands; a view should not show "0 of 0".
    progress(0, total);
    let mut done = 0;
    while done < total {
        // `io::copy` between files uses the kernel's copy_file_range (or a reflink where the
        // file system has them), as `cp` does.
        let n = std::io::copy(&mut (&mut src).take(CHUNK), &mut dst)?;
        if n == 0 {
            break;
        }
        done += n;
        progress(done, total);
    }
    let mut wal = from.as_os_str().to_owned();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    if wal.metadata().is_ok_and(|m| m.len() > 0) {
        let mut to_wal = to.as_os_str().to_owned();
        to_wal.push("-wal");
        std::fs::copy(&wal, PathBuf::from(to_wal))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sqlx::{ConnectOptions, Connection};

    use crate::sqlite::SqliteStore;
    use crate::{Dataset, Environment, Progress, Record, Store, Tenant, TenantKind};

    /// The names of the secondary indexes of a dataset file. Read-only and closed before it
    /// returns: sqlx closes a dropped connection later on its own thread, and a stage's writer
    /// switching the file's journal mode meanwhile would find it locked.
    async fn indexes(path: &std::path::Path) -> Vec<String> {
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .connect()
            .await
            .unwrap();
        let names = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'records_by_%' \
             ORDER BY name",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        names
    }

    /// A store in `dir` with customer tenant 7.
    async fn store_with_tenant(dir: &std::path::Path) -> SqliteStore {
        let store = SqliteStore::open(&dir.join("fieldgate.db")).await.unwrap();
        store
            .create_tenant(&Tenant {
                id: 7,
                name: "T".into(),
                kind: TenantKind::Customer,
                created_us: 0,
            })
            .await
            .unwrap();
        store
    }

    #[tokio::test]
    async fn a_stage_filled_from_nothing_is_indexed_once_published() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_tenant(dir.path()).await;
        let dataset = Dataset::new(Environment::Production, 7);
        let (staged, _) = store
            .stage_dataset(dataset, None, Arc::new(|_, _| {}))
            .await
            .unwrap();
        let path = store.data.path(dataset, staged.generation);
        assert!(
            indexes(&path).await.is_empty(),
            "the stage is filled unindexed"
        );
        let rows = records(1..=3, Some(1));
        store
            .staged_put(&staged, "crm/locations", &rows)
            .await
            .unwrap();
        store.publish_staged(&staged, 10).await.unwrap();
        assert_eq!(
            indexes(&path).await,
            [
                "records_by_created",
                "records_by_modified",
                "records_by_parent"
            ]
        );
    }

    /// Records `ids` of a resource, documents `{"id":n}`.
    fn records(ids: std::ops::RangeInclusive<i64>, parent_id: Option<i64>) -> Vec<Record> {
        ids.map(|id| Record {
            id,
            parent_id,
            created_us: id,
            modified_us: id,
            active: true,
            doc: format!("{{\"id\":{id}}}"),
        })
        .collect()
    }

    /// Publishes a new generation of `dataset` holding one record; returns its file.
    async fn publish_one(store: &SqliteStore, dataset: Dataset) -> std::path::PathBuf {
        let (staged, _) = store
            .stage_dataset(dataset, None, Arc::new(|_, _| {}))
            .await
            .unwrap();
        store
            .staged_put(&staged, "crm/customers", &records(1..=1, None))
            .await
            .unwrap();
        store.publish_staged(&staged, 10).await.unwrap();
        store.data.path(dataset, staged.generation)
    }

    async fn gone(path: &std::path::Path) -> bool {
        for _ in 0..100 {
            if !path.exists() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn a_replaced_file_is_removed_by_the_serving_process_only() {
        let dir = tempfile::tempdir().unwrap();
        let server = store_with_tenant(dir.path()).await;
        let dataset = Dataset::new(Environment::Integration, 7);

        // The serving process replaces its own generation and removes the old file.
        let first = publish_one(&server, dataset).await;
        let second = publish_one(&server, dataset).await;
        assert!(gone(&first).await, "the server removes what it replaced");
        let mut conn = super::options(&second).connect().await.unwrap();
        let page: i64 = sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(page, 16384);

        // A short-lived process (the CLI) switches and leaves the file it replaced; the
        // server, once it sees the switch, closes the old generation and removes it.
        let cli = SqliteStore::open(&dir.path().join("fieldgate.db"))
            .await
            .unwrap();
        cli.leave_replaced_files();
        cli.dataset_generation(dataset).await.unwrap();
        let third = publish_one(&cli, dataset).await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(second.exists(), "the CLI leaves the replaced file");
        assert!(third.exists());
        tokio::time::sleep(super::RECHECK).await;
        server.dataset_generation(dataset).await.unwrap();
        assert!(
            gone(&second).await,
            "the server removes it after the switch"
        );
        assert!(third.exists(), "the served file stays");
    }

    #[tokio::test]
    async fn a_transform_that_panics_fails_the_rewrite_instead_of_hanging_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_tenant(dir.path()).await;
        let dataset = Dataset::new(Environment::Integration, 7);
        let (staged, _) = store
            .stage_dataset(dataset, None, Arc::new(|_, _| {}))
            .await
            .unwrap();
        let rows = records(1..=10_000, None);
        store
            .staged_put(&staged, "crm/customers", &rows)
            .await
            .unwrap();
        let transform = Arc::new(|_: &str, doc: &str| {
            assert_ne!(doc, "{\"id\":6000}", "a transform bug");
            Some(doc.replace("id", "ID"))
        });
        let outcome = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            store.transform_staged(&staged, transform, Arc::new(|_, _| {})),
        )
        .await
        .expect("the rewrite ends");
        assert!(outcome.is_err(), "{outcome:?}");
    }

    #[test]
    fn file_names_round_trip() {
        let (dataset, generation) = super::parse_name("integration-3141592653-g12.db").unwrap();
        assert_eq!(dataset.key(), "integration/3141592653");
        assert_eq!(generation, 12);
        assert!(super::parse_name("integration-3-g1.db-wal").is_none());
        assert!(super::parse_name("fieldgate.db").is_none());
    }

    #[test]
    fn a_copy_tells_its_total_before_its_first_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("a.db"), dir.path().join("b.db"));
        std::fs::write(&from, vec![7u8; 1000]).unwrap();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        let progress: Progress = Arc::new(move |done, total| {
            record.lock().unwrap().push((done, total));
        });
        super::copy_files(&from, &to, &progress).unwrap();
        assert_eq!(*seen.lock().unwrap(), [(0, 1000), (1000, 1000)]);
        assert_eq!(std::fs::read(&to).unwrap(), vec![7u8; 1000]);
    }
}
