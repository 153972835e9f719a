//! SQLite's query planner stability guarantee (QPSG), on every connection Posko opens.
//!
//! Without it SQLite compiles a cached statement again (parses and plans it) whenever a
//! value is bound to a parameter its plan looked at: a `LIMIT ?` (every page), a
//! `LIKE ?` pattern (a dispute search), and, with STAT4, which the bundled SQLite is
//! built with, any parameter compared to an indexed column (a dispute's public id, the
//! regencies of a jurisdiction). sqlx binds every parameter anew on every execution, so
//! each of Posko's statements was compiled again on every request, its statement cache
//! notwithstanding (BENCHMARKS.md, session 13). With the guarantee a statement is planned
//! once per connection, from the statistics `ANALYZE` keeps, never from bound values.
//!
//! SQLite offers the setting only through `sqlite3_db_config`, which neither SQL, sqlx's
//! options nor sea-orm's reach: hence the one foreign call below, on the handle sqlx
//! lends for exactly that.

use std::ffi::c_int;

use sea_orm::sqlx;
use sea_orm::sqlx::sqlite::SqliteConnection;

/// The guarantee's switch: 1 on, 0 off, -1 only reads it.
async fn query_planner_stability(
    conn: &mut SqliteConnection,
    switch: c_int,
) -> Result<bool, sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    let mut now_on: c_int = -1;
    // SAFETY: `db` is the handle of an open connection, held locked (so no other thread
    // uses it) for the call. SQLITE_DBCONFIG_ENABLE_QPSG takes exactly an int and a
    // pointer to an int it writes the setting into, both valid for the call.
    #[allow(unsafe_code)]
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            switch,
            &raw mut now_on,
        )
    };
    match (rc, now_on) {
        (libsqlite3_sys::SQLITE_OK, 0 | 1) => Ok(now_on == 1),
        _ => Err(sqlx::Error::Configuration(
            format!("SQLite refused its query planner stability setting (code {rc})").into(),
        )),
    }
}

/// Turns the guarantee on for a new connection (the pools' `after_connect`); a connection
/// that refuses it is not used.
pub async fn stabilise(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    if query_planner_stability(conn, 1).await? {
        Ok(())
    } else {
        Err(sqlx::Error::Configuration(
            "SQLite did not keep its query planner stability setting".into(),
        ))
    }
}

/// Whether the guarantee is on for a connection (for the tests).
pub async fn is_stable(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    query_planner_stability(conn, -1).await
}
