//! The embedded database schema. Jobs keep their full record as JSON in `body`; the columns
//! beside it are the ones the queue and the listings filter and sort on.

use rusqlite::Connection;

pub(super) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version < 1 {
        conn.execute_batch(V1)?;
    }
    if version < 2 {
        conn.execute_batch(V2)?;
    }
    if version < 3 {
        conn.execute_batch(V3)?;
    }
    if version < 4 {
        conn.execute_batch(V4)?;
    }
    Ok(())
}

/// The first schema.
const V1: &str = "BEGIN;
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
        COMMIT;";

/// Version 2: pipelines can be deleted while their finished jobs stay (so the jobs table no longer
/// references them; the store checks pipelines on insert instead), and finished jobs carry their
/// finish time in a column, so the retention sweep finds them by index. SQLite cannot drop a
/// constraint: the table is rebuilt, rows and sequence kept.
const V2: &str = "BEGIN;
        CREATE TABLE jobs_v2 (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            pipeline_id TEXT NOT NULL,
            state TEXT NOT NULL,
            priority INTEGER NOT NULL,
            attempts INTEGER NOT NULL,
            not_before INTEGER,
            lease_until INTEGER,
            client_token TEXT UNIQUE,
            finished_at INTEGER,
            body TEXT NOT NULL
        );
        INSERT INTO jobs_v2 (seq, id, pipeline_id, state, priority, attempts, not_before, lease_until, client_token, finished_at, body)
            SELECT seq, id, pipeline_id, state, priority, attempts, not_before, lease_until, client_token,
                   json_extract(body, '$.finish_time'), body
            FROM jobs;
        DROP TABLE jobs;
        ALTER TABLE jobs_v2 RENAME TO jobs;
        CREATE INDEX jobs_queue ON jobs(state, priority DESC, seq);
        CREATE INDEX jobs_pipeline_state ON jobs(pipeline_id, state);
        CREATE INDEX jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL;
        PRAGMA user_version = 2;
        COMMIT;";

/// Version 3: jobs belong to a tenant (the one whose access key submitted them), and a tenant's
/// listings find theirs by index.
const V3: &str = "BEGIN;
        ALTER TABLE jobs ADD COLUMN tenant TEXT;
        CREATE INDEX jobs_tenant ON jobs(tenant, seq);
        PRAGMA user_version = 3;
        COMMIT;";

/// Version 4: tenants' running-job limits, which claims check in their transaction (written from
/// the configuration at each start).
const V4: &str = "BEGIN;
        CREATE TABLE tenant_limits (tenant TEXT PRIMARY KEY, max_running INTEGER NOT NULL);
        PRAGMA user_version = 4;
        COMMIT;";
