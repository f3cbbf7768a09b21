//! The import worker: takes import jobs off the store and runs them, on every node.
//!
//! A node claims one job at a time with a lease ([`LEASE_MICROS`]), renewed after
//! every step; a node that dies stops renewing, and once the lease has run out any
//! node's worker claims the job and resumes it at its stored cursor. A new job wakes
//! the worker of the node that accepted it at once; other nodes find it on their next
//! poll ([`POLL`]).

use std::time::Duration;

use tokio::sync::watch;

use crate::App;

/// How long a claimed job stays its node's without a renewal, by default
/// ([`App::with_import_lease`] sets another).
pub const LEASE_MICROS: i64 = 60_000_000;
/// How often an idle worker looks for jobs another node accepted, or left behind.
pub const POLL: Duration = Duration::from_secs(1);

impl App {
    /// Claims and runs one job if there is one; whether there was.
    pub async fn work_one_import(&self) -> crate::Result<bool> {
        let now = self.now();
        let Some(job) = self.store.claim_import_job(now, self.lease_until()).await? else {
            return Ok(false);
        };
        let id = job.id.clone();
        match self.run_import_job(job).await {
            Ok(done) => tracing::info!(
                job = %id,
                processed = done.processed,
                succeeded = done.succeeded,
                failed = done.failed,
                "import step run ended"
            ),
            Err(e) => tracing::warn!(job = %id, error = %e, "import interrupted; it resumes later"),
        }
        Ok(true)
    }

    /// Runs jobs until `shutdown` turns true: one after another while there are any,
    /// then waits for a new one or the next poll.
    pub async fn run_import_worker(&self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let worked = match self.work_one_import().await {
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!(error = %e, "import worker could not claim a job");
                    false
                }
            };
            if worked {
                continue;
            }
            tokio::select! {
                _ = self.jobs.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                // A dropped sender means nobody can ask to stop any more: stop now
                // rather than wake on it in a loop.
                changed = shutdown.changed() => if changed.is_err() { return },
            }
        }
    }
}
