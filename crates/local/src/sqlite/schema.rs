//! The embedded database schema. Jobs keep their full record as JSON in `body`; the columns
//! beside it are the ones the queue and the listings filter and sort on.

use rusqlite::Connection;

const SCHEMA_VERSION: i64 = 1;

pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version >= SCHEMA_VERSION {
        return Ok(());
    }
    conn.execute_batch(
        "BEGIN;
        CREATE TABLE IF NOT EXISTS pipelines (
            id TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            concurrency INTEGER NOT NULL,
            body TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS jobs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            pipeline_id TEXT NOT NULL REFERENCES pipelines(id),
            state TEXT NOT NULL,
            priority INTEGER NOT NULL,
            attempts INTEGER NOT NULL,
            not_before INTEGER,
            lease_until INTEGER,
            client_token TEXT UNIQUE,
            body TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(state, priority DESC, seq);
        CREATE INDEX IF NOT EXISTS jobs_pipeline_state ON jobs(pipeline_id, state);
        CREATE TABLE IF NOT EXISTS callbacks (
            delivery_id TEXT PRIMARY KEY,
            job_id TEXT NOT NULL,
            target TEXT NOT NULL,
            body TEXT NOT NULL,
            secret TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            state TEXT NOT NULL,
            next_attempt INTEGER NOT NULL,
            last_error TEXT
        );
        CREATE INDEX IF NOT EXISTS callbacks_due ON callbacks(state, next_attempt);
        CREATE INDEX IF NOT EXISTS callbacks_job ON callbacks(job_id);
        PRAGMA user_version = 1;
        COMMIT;",
    )
}
