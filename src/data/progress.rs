//! Progress and cancelling for a dataset load, shared between the loading thread and whoever
//! watches it (the command line's progress bar, the window's Dataset panel). Only plain
//! atomics: the watcher reads them whenever it draws, and the loader never waits for it.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

/// What a load is doing now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum LoadStage {
    /// Not started, or reading a file whose loader reports no progress (IDX, numpy, CSV).
    Opening,
    /// Listing an image folder (the count of files is not known yet).
    Listing,
    /// Reading every image file's header for its size.
    ReadingHeaders,
    /// Decoding the images.
    Decoding,
}

impl LoadStage {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Listing,
            2 => Self::ReadingHeaders,
            3 => Self::Decoding,
            _ => Self::Opening,
        }
    }

    /// The stage in words, as the progress bar and the window show it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Opening => "Opening",
            Self::Listing => "Listing images",
            Self::ReadingHeaders => "Reading image headers",
            Self::Decoding => "Reading images",
        }
    }
}

/// Called on the loading threads after every step (a progress bar's `inc`, or a test that
/// cancels at an exact point); it must be quick and must not block.
pub type StepObserver = Box<dyn Fn(&LoadProgress) + Send + Sync>;

/// How far a load has got (`done` of `total` in its stage), and a flag to stop it. A cancelled
/// load returns [`crate::error::Error::Cancelled`] and no dataset, never part of one.
#[derive(Default)]
pub struct LoadProgress {
    stage: AtomicU8,
    done: AtomicUsize,
    total: AtomicUsize,
    cancel: AtomicBool,
    observer: Option<StepObserver>,
}

impl std::fmt::Debug for LoadProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadProgress")
            .field("view", &self.view())
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// A snapshot of [`LoadProgress`] for drawing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadProgressView {
    pub stage: LoadStage,
    pub done: usize,
    pub total: usize,
}

impl LoadProgress {
    pub fn new() -> Self {
        Self::default()
    }

    /// Progress that also calls `observer` after every step and at every stage's start.
    pub fn with_observer(observer: impl Fn(&LoadProgress) + Send + Sync + 'static) -> Self {
        Self {
            observer: Some(Box::new(observer)),
            ..Self::default()
        }
    }

    fn notify(&self) {
        if let Some(observer) = &self.observer {
            observer(self);
        }
    }

    /// Asks the load to stop as soon as it can (within one image per thread).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Acquire)
    }

    pub fn view(&self) -> LoadProgressView {
        LoadProgressView {
            stage: LoadStage::from_u8(self.stage.load(Ordering::Acquire)),
            done: self.done.load(Ordering::Acquire),
            total: self.total.load(Ordering::Acquire),
        }
    }

    /// Images done in the current stage.
    pub fn done(&self) -> usize {
        self.done.load(Ordering::Acquire)
    }

    /// Starts a stage of `total` steps (0: unknown).
    pub(crate) fn start(&self, stage: LoadStage, total: usize) {
        self.done.store(0, Ordering::Release);
        self.total.store(total, Ordering::Release);
        self.stage.store(stage as u8, Ordering::Release);
        self.notify();
    }

    /// One more step of the current stage done.
    pub(crate) fn step(&self) {
        self.done.fetch_add(1, Ordering::AcqRel);
        self.notify();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_round_trip_and_steps_count() {
        let p = LoadProgress::new();
        assert_eq!(p.view().stage, LoadStage::Opening);
        for stage in [
            LoadStage::Listing,
            LoadStage::ReadingHeaders,
            LoadStage::Decoding,
        ] {
            p.start(stage, 3);
            p.step();
            p.step();
            assert_eq!(
                p.view(),
                LoadProgressView {
                    stage,
                    done: 2,
                    total: 3
                }
            );
        }
        assert!(!p.is_cancelled());
        p.cancel();
        assert!(p.is_cancelled());
    }
}
