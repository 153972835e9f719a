//! One PostgreSQL pool per HTTP worker.
//!
//! Each actix worker runs a single-threaded tokio runtime of its own, and a socket belongs
//! to the runtime that opened it: a request on one worker that borrows a connection
//! another worker opened hears its answer only when that other worker's event loop next
//! turns, after whatever request it is busy with, and pays a wake-up across threads. With
//! one pool shared by two workers about half of all round trips crossed over; with a pool
//! per worker the same list page went from 2 450 to 3 504 requests/s (BENCHMARKS.md,
//! session 11). So each worker opens and uses connections of its own, and the shared pool
//! is left to work that belongs to no request's worker (migrations, the reference data,
//! jurisdiction lookups, health checks).
//!
//! SQLite keeps one pool for the process: its connections run on sqlx's own threads,
//! bound to no runtime, and its single writer connection must be one for all workers.

use std::cell::RefCell;

use super::Database;

thread_local! {
    /// This thread's pool, when it is an HTTP worker of a PostgreSQL server.
    static THIS_WORKER: RefCell<Option<Installed>> = const { RefCell::new(None) };
}

/// A worker's own pool, let go when the worker's thread ends (a worker actix restarts
/// after a failure is a new thread, with a new pool).
struct Installed {
    own: Database,
    id: u64,
}

impl Drop for Installed {
    fn drop(&mut self) {
        self.own.forget_worker_pool(self.id);
    }
}

/// Gives the calling worker thread a pool of its own, derived from `shared` (called by the
/// server's per-worker factory, on the worker's thread, before it serves anything).
pub fn install(shared: &Database, max_connections: u32) {
    let Some((own, id)) = shared.for_one_worker(max_connections) else {
        return;
    };
    THIS_WORKER.with(|slot| *slot.borrow_mut() = Some(Installed { own, id }));
}

/// The pool for work done on this thread: its worker's own if the worker belongs to the
/// server `shared` came from, else `shared`. (A process can run several servers, as the
/// tests do; a thread's pool never serves another server's requests.)
pub fn for_this_thread(shared: &Database) -> Database {
    THIS_WORKER
        .with(|slot| {
            slot.borrow()
                .as_ref()
                .map(|installed| &installed.own)
                .filter(|own| own.derives_from(shared))
                .cloned()
        })
        .unwrap_or_else(|| shared.clone())
}
