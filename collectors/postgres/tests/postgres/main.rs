//! Integration tests of the `postgres` collector against a real PostgreSQL server: the one
//! `WITNESS_TEST_PG_URL` names (a libpq URL of a superuser, by default
//! `postgresql://postgres@127.0.0.1:5432/postgres`). Each test works in a database and
//! with roles of its own, so runs and parallel tests do not collide, and drops them.
//! Where the real server cannot show a failure (it trusts 127.0.0.1, so no password can
//! be wrong), a fake server on 127.0.0.1 speaks just enough of the protocol; each such
//! test says so.

mod activity;
mod deadlines;
mod failures;
mod locks;
mod privileges;
mod redaction;
mod scene;
mod support;
