//! One SQLite file in WAL mode. All writes go through a single writer thread that commits
//! whatever arrived meanwhile in one transaction (group commit): every write is durable
//! (`synchronous=FULL`) before its caller hears back, yet thousands of submits a second share a
//! handful of fsyncs. Reads use a small pool of separate connections and never wait for writes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use iprod_core::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};

use super::schema;

/// Writes waiting beyond this many make callers wait for the writer (backpressure).
const WRITE_QUEUE: usize = 4096;
/// At most this many writes share one transaction.
const MAX_BATCH: usize = 512;

type Reply = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;
type WriteOp = Box<dyn FnOnce(&Connection) -> Reply + Send>;

#[derive(Clone)]
pub(super) struct Db {
    writes: mpsc::Sender<WriteOp>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: PathBuf,
}

pub(super) fn db_error(e: rusqlite::Error) -> Error {
    Error::transient("Database", "the job database could not be used").with_source(e)
}

impl Db {
    pub(super) fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(db_error)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;",
        )
        .map_err(db_error)?;
        schema::migrate(&conn).map_err(db_error)?;
        let (writes, queue) = mpsc::channel(WRITE_QUEUE);
        std::thread::Builder::new()
            .name("iprod-sqlite-writer".into())
            .spawn(move || writer_loop(&conn, queue))
            .map_err(|e| Error::internal("cannot start the database writer thread").with_source(e))?;
        Ok(Self { writes, readers: Arc::default(), path: path.to_owned() })
    }

    /// Runs `f` inside the next group transaction; resolves after the commit is durable.
    pub(super) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let op: WriteOp = Box::new(move |conn| {
            let outcome = in_savepoint(conn, f);
            Box::new(move |commit| {
                let reply = match commit {
                    Ok(()) => outcome,
                    Err(message) => Err(Error::transient("Database", format!("commit failed: {message}"))),
                };
                let _ = tx.send(reply);
            })
        });
        // `send` waits only when the writer is WRITE_QUEUE ops behind (backpressure).
        self.writes.send(op).await.map_err(|_| Error::internal("the database writer has stopped"))?;
        rx.await.map_err(|_| Error::internal("the database writer dropped a write"))?
    }

    pub(super) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let readers = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = readers.lock().map_err(|_| Error::internal("reader pool poisoned"))?.pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => open_reader(&path)?,
            };
            let result = f(&conn);
            if let Ok(mut pool) = readers.lock() {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(|e| Error::internal("database reader task failed").with_source(e))?
    }
}

fn open_reader(path: &Path) -> Result<Connection> {
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(db_error)?;
    conn.execute_batch("PRAGMA busy_timeout=5000;").map_err(db_error)?;
    Ok(conn)
}

/// Each op gets its own savepoint, so one failing op rolls back only itself, not its batch.
fn in_savepoint<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    conn.execute_batch("SAVEPOINT op").map_err(db_error)?;
    let result = f(conn);
    let end = if result.is_ok() { "RELEASE op" } else { "ROLLBACK TO op; RELEASE op" };
    conn.execute_batch(end).map_err(db_error)?;
    result
}

fn writer_loop(conn: &Connection, mut queue: mpsc::Receiver<WriteOp>) {
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(op) => batch.push(op),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let began = conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| e.to_string());
        let replies: Vec<Reply> = batch.into_iter().map(|op| op(conn)).collect();
        let committed = began.and_then(|()| conn.execute_batch("COMMIT").map_err(|e| e.to_string()));
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for reply in replies {
            reply(committed.clone());
        }
    }
}
