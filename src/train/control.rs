//! Pause / resume / stop for a training run, shared between the thread that trains and
//! whoever steers it. Pausing blocks the training thread on a condition variable, so resume
//! and stop take effect at once rather than at the next poll.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Running,
    Paused,
    Stopping,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<RunState>,
    changed: Condvar,
}

/// A cheap-to-clone handle; every clone steers the same run.
#[derive(Clone, Debug)]
pub struct TrainControl(Arc<Inner>);

impl Default for TrainControl {
    fn default() -> Self {
        Self::new()
    }
}

impl TrainControl {
    pub fn new() -> Self {
        Self(Arc::new(Inner {
            state: Mutex::new(RunState::Running),
            changed: Condvar::new(),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, RunState> {
        // The state is a plain enum: a panic elsewhere cannot leave it inconsistent.
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, next: RunState) {
        let mut s = self.lock();
        // Stopping is final: a late resume must not restart a run that was asked to stop.
        if *s != RunState::Stopping {
            *s = next;
        }
        self.0.changed.notify_all();
    }

    pub fn pause(&self) {
        self.set(RunState::Paused);
    }

    pub fn resume(&self) {
        self.set(RunState::Running);
    }

    pub fn stop(&self) {
        self.set(RunState::Stopping);
    }

    pub fn state(&self) -> RunState {
        *self.lock()
    }

    pub fn is_stopping(&self) -> bool {
        self.state() == RunState::Stopping
    }

    /// Called by the trainer between steps. Returns false when the run should end.
    /// While paused it blocks; `on_pause(true)` is called before the wait and
    /// `on_pause(false)` after it when the run resumes.
    pub(crate) fn checkpoint(&self, on_pause: &mut dyn FnMut(bool)) -> bool {
        let mut s = self.lock();
        if *s == RunState::Paused {
            drop(s);
            on_pause(true);
            s = self.lock();
            while *s == RunState::Paused {
                s = self.0.changed.wait(s).unwrap_or_else(|p| p.into_inner());
            }
            if *s == RunState::Running {
                drop(s);
                on_pause(false);
                return true;
            }
        }
        *s != RunState::Stopping
    }
}
