//! Dataset loads the window has asked for and not yet heard back about, oldest first: the jobs
//! thread runs them in that order and answers each exactly once (loaded, failed or cancelled),
//! so the front one is the one reading now. The Dataset panel draws its progress from the
//! shared counters (never waiting on the loader), and Cancel flags every one of them.

use crate::data::{LoadProgress, LoadProgressView};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Default)]
pub struct DatasetLoads {
    queue: VecDeque<(PathBuf, Arc<LoadProgress>)>,
}

impl DatasetLoads {
    /// A new load of `path`: the handle to give its job.
    pub fn start(&mut self, path: &Path) -> Arc<LoadProgress> {
        let progress = Arc::new(LoadProgress::new());
        self.queue.push_back((path.to_path_buf(), progress.clone()));
        progress
    }

    /// The oldest load has answered.
    pub fn answered(&mut self) {
        self.queue.pop_front();
    }

    /// The load reading now, and how far it has got.
    pub fn current(&self) -> Option<(&Path, LoadProgressView)> {
        self.queue
            .front()
            .map(|(path, progress)| (path.as_path(), progress.view()))
    }

    /// Asks every load to stop; each answers "cancelled" (a queued one without reading).
    pub fn cancel_all(&self) {
        for (_, progress) in &self.queue {
            progress.cancel();
        }
    }

    /// Whether Cancel has been asked for the load reading now.
    pub fn cancelling(&self) -> bool {
        self.queue.front().is_some_and(|(_, p)| p.is_cancelled())
    }
}
