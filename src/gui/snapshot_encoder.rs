//! Re-encodes the map's samples for a running training, beside the trainer rather than in its
//! way. The trainer hands over a copy of its weights and goes on stepping; this thread encodes
//! the map with that copy and sends weights and codes to the window together.
//!
//! Why a thread of its own, in Linux's idle scheduling class: encoding 70,000 MNIST images takes
//! about 100 ms of both cores. Done on the trainer's thread between steps, as before, every
//! snapshot stopped training outright. Here the encode runs on one thread that gets only the
//! time the trainer leaves idle (between its parallel sections there is always some), so a
//! refresh of the map costs the run next to nothing whatever the model or the size of the map;
//! a slow encode (a conv model, a large dataset) makes the map's refreshes rarer instead of
//! training slower. At an epoch's end the trainer waits for room, so every epoch is drawn even
//! when the cores never idle.

use super::worker::{Event, EventSender, TrainedTo};
use super::workspace::Generation;
use crate::data::Dataset;
use crate::model::Model;
use crate::train::TrainControl;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

/// The weights of a snapshot, waiting for their codes.
struct Pending {
    model: Model,
    at: TrainedTo,
}

/// The thread that encodes training snapshots; dropping it (or [`Self::finish`]) waits for the
/// snapshot in hand, so that the run's last codes reach the window before it hears the run ended.
pub struct SnapshotEncoder {
    tx: Option<SyncSender<Pending>>,
    handle: Option<JoinHandle<()>>,
}

/// What became of a snapshot offered to the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    Taken,
    /// The previous one is still being encoded: this one is dropped, the map waits for the next.
    Busy,
    /// The encoder is gone (it could not start, or the window closed).
    Closed,
}

impl SnapshotEncoder {
    pub fn spawn(
        data: Arc<Dataset>,
        map_indices: Arc<Vec<usize>>,
        generation: Generation,
        control: TrainControl,
        events: EventSender,
    ) -> Self {
        // One snapshot encoding and one waiting, at most: weights older than that are not worth
        // drawing.
        let (tx, rx) = sync_channel::<Pending>(1);
        let handle = std::thread::Builder::new()
            .name("explorer-snapshots".into())
            .spawn(move || {
                // The encode's own parallel loops run on one low-priority thread, not on the
                // shared pool, whose threads are training.
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .thread_name(|_| "explorer-snapshot-maths".into())
                    .start_handler(|_| lower_this_threads_priority())
                    .build()
                    .ok();
                for Pending { model, at } in rx {
                    // A stopping run's queued weights are stale; its final weights are encoded
                    // by the window once the run has ended.
                    if control.is_stopping() {
                        continue;
                    }
                    let encode = || model.encode(&data, &map_indices).ok();
                    let codes = match &pool {
                        Some(pool) => pool.install(encode),
                        None => encode(),
                    };
                    events.send(Event::TrainSnapshot {
                        generation,
                        model: Arc::new(model),
                        codes,
                        at,
                    });
                }
            })
            .ok();
        let tx = handle.is_some().then_some(tx);
        Self { tx, handle }
    }

    /// Hands weights over for encoding without waiting (a step is never held up by the map).
    pub fn offer(&self, model: Model, at: TrainedTo) -> Offer {
        let Some(tx) = &self.tx else {
            return Offer::Closed;
        };
        match tx.try_send(Pending { model, at }) {
            Ok(()) => Offer::Taken,
            Err(TrySendError::Full(_)) => Offer::Busy,
            Err(TrySendError::Disconnected(_)) => Offer::Closed,
        }
    }

    /// Hands weights over and waits for room if need be: an epoch's end is always drawn.
    pub fn offer_waiting(&self, model: Model, at: TrainedTo) -> Offer {
        match &self.tx {
            Some(tx) if tx.send(Pending { model, at }).is_ok() => Offer::Taken,
            _ => Offer::Closed,
        }
    }

    /// Waits until every snapshot handed over has reached the window.
    pub fn finish(mut self) {
        self.close();
    }

    fn close(&mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for SnapshotEncoder {
    fn drop(&mut self) {
        self.close();
    }
}

/// Linux schedules each thread on its own: this puts only the calling one in the idle class,
/// which runs when a core has nothing else to do and gives way at once when a training thread
/// wakes. (Nice 10 was tried first: its share of a contended core still held up the trainer's
/// steps, whose halves wait for each other; the window kept 82-111% of the command line's rate,
/// against 94-98% with the idle class.)
#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: gettid takes no arguments; sched_setscheduler reads `param`, which outlives the
    // call. A refusal leaves the thread at normal priority, which is only slower.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::pid_t;
        libc::sched_setscheduler(tid, libc::SCHED_IDLE, &param);
    }
}

/// Elsewhere a process-wide change would slow the window too: the encoder keeps normal priority.
#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{LoadOptions, load_dataset};
    use std::sync::mpsc::{Receiver, channel};

    /// The MNIST and model the repository ships.
    fn bundled() -> (Arc<Dataset>, Model) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let data = load_dataset(&root.join("assets/mnist"), &LoadOptions::default());
        let model = Model::load(&root.join("models/mnist-latent2.safetensors")).unwrap();
        (Arc::new(data.unwrap()), model)
    }

    fn snapshots(rx: &Receiver<Event>) -> Vec<(TrainedTo, Option<crate::model::Codes>)> {
        rx.try_iter()
            .filter_map(|e| match e {
                Event::TrainSnapshot { at, codes, .. } => Some((at, codes)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_snapshot_taken_reaches_the_window_with_its_codes_before_finish_returns() {
        let (data, model) = bundled();
        let indices: Arc<Vec<usize>> = Arc::new((0..2000).collect());
        let expected = model.encode(&data, &indices).unwrap();
        let (tx, rx) = channel();
        let events = EventSender::new(tx, egui::Context::default());
        let encoder = SnapshotEncoder::spawn(
            Arc::clone(&data),
            Arc::clone(&indices),
            Generation::default(),
            TrainControl::new(),
            events,
        );
        let mut taken = Vec::new();
        for step in 1..=20 {
            let at = TrainedTo { step, epoch: 1 };
            if encoder.offer(model.duplicate().unwrap(), at) == Offer::Taken {
                taken.push(at);
            }
        }
        let last = TrainedTo { step: 21, epoch: 1 };
        assert_eq!(
            encoder.offer_waiting(model.duplicate().unwrap(), last),
            Offer::Taken
        );
        taken.push(last);
        encoder.finish();
        let got = snapshots(&rx);
        // At most one waits while one encodes: offers in between are dropped, not queued.
        assert!(taken.len() < 21, "every offer was taken: {}", taken.len());
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), taken);
        for (_, codes) in got {
            let codes = codes.expect("codes");
            assert_eq!(codes.mean, expected.mean);
            assert_eq!(codes.logvar, expected.logvar);
        }
    }

    #[test]
    fn a_stopping_run_skips_the_snapshots_still_waiting() {
        let (data, model) = bundled();
        let indices: Arc<Vec<usize>> = Arc::new((0..data.len()).collect());
        let (tx, rx) = channel();
        let control = TrainControl::new();
        let encoder = SnapshotEncoder::spawn(
            data,
            indices,
            Generation::default(),
            control.clone(),
            EventSender::new(tx, egui::Context::default()),
        );
        control.stop();
        for step in 1..=3 {
            encoder.offer_waiting(model.duplicate().unwrap(), TrainedTo { step, epoch: 1 });
        }
        encoder.finish();
        assert!(snapshots(&rx).is_empty());
    }
}
