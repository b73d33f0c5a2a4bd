-- Least privilege for witness's `postgres` collector.
--
-- witness only reads: pg_stat_activity, pg_locks (with pg_blocking_pids), pg_stat_database,
-- pg_stat_replication, settings, and pg_stat_statements when installed. Each query runs in
-- a READ ONLY transaction with a low statement_timeout and lock_timeout.
--
-- pg_monitor (PostgreSQL 10+) = pg_read_all_settings + pg_read_all_stats +
-- pg_stat_scan_tables. pg_read_all_stats is what lets witness see the state, times and
-- query text of other roles' sessions; without it those sessions show
-- `<insufficient privilege>`, the evidence is `partial` and says which facts are missing.
--
-- Do NOT grant pg_signal_backend or superuser: witness suggests
-- `SELECT pg_cancel_backend(pid)` / `SELECT pg_terminate_backend(pid)` for a human to run
-- and never runs them itself.
--
-- Run as a superuser (or a role with CREATEROLE and ADMIN on pg_monitor):
--   psql -v password="'...'" -f deploy/postgres-grant.sql
-- then give witness a DSN through dsn_env or dsn_file, e.g.
--   postgresql://witness:...@db.example:5432/app?sslmode=verify-full

CREATE ROLE witness LOGIN PASSWORD :password
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    CONNECTION LIMIT 3;
GRANT pg_monitor TO witness;

-- Every query witness runs is read-only; make that the role's default as well.
ALTER ROLE witness SET default_transaction_read_only = on;

-- Optional: top statements by mean time. pg_stat_statements must be in
-- shared_preload_libraries and created in the database the DSN names:
--   CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
