//! Point reads of the control plane answered on the calling thread. sqlx runs each SQLite
//! connection on a worker thread of its own, so every query costs two thread hand-offs; on
//! the token endpoint, which reads one client per request, those hand-offs took about half of
//! the server's CPU (perf, 2 cores). A read here is the same indexed lookup, made on the
//! calling thread; WAL lets it share the file with the writer without waiting for it.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::Result;

pub(super) struct QuickReads {
    path: PathBuf,
    /// Connections not in use. A read holds one only while it runs, so there are about as
    /// many as threads reading at once.
    idle: Mutex<Vec<Connection>>,
}

impl QuickReads {
    /// Connections kept for reuse; more may be open for a moment under a burst.
    const KEEP: usize = 16;

    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on an idle read-only connection, opening one if none is idle.
    pub fn read<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let idle = self.idle.lock().expect("a quick read panicked").pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let out = read(&conn);
        let mut idle = self.idle.lock().expect("a quick read panicked");
        if idle.len() < Self::KEEP {
            idle.push(conn);
        }
        Ok(out?)
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Readers of a WAL file wait only while it is being recovered after a crash.
        conn.busy_timeout(Duration::from_secs(1))?;
        Ok(conn)
    }
}
