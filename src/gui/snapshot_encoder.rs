//! Re-encodes the map's samples for a running training, beside the trainer rather than in its
//! way. The trainer hands over a copy of its weights and goes on stepping; this thread encodes
//! the map with that copy and sends weights and codes to the window together.
//!
//! Where the trainer reports its steps' codes (the fused CPU steps), it hands them over too
//! ([`super::trained_codes`]): the training images then keep the codes their last step gave
//! them and only the rows the trainer never sees (held-out images) are encoded here; while the
//! encoder rests (below) even those keep their last codes, so a snapshot costs a copy. On the
//! 70,000-point MNIST map that is 10,000 images to encode instead of 70,000. Without such codes
//! (candle's autograd, a GPU) the whole map is encoded, as described below.
//!
//! Why a thread of its own, in Linux's idle scheduling class: encoding 70,000 MNIST images takes
//! about 100 ms of both cores. Done on the trainer's thread between steps, as before, every
//! snapshot stopped training outright. Here the encode runs on one thread that gets only the
//! time the trainer leaves idle (between its parallel sections there is always some), so a
//! refresh of the map costs the run little whatever the model or the size of the map;
//! a slow encode (a conv model, a large dataset) makes the map's refreshes rarer instead of
//! training slower. Where the trainer leaves no idle time at all, a snapshot that has waited
//! [`STARVED_AFTER`] finishes at normal priority, so the map still moves; the next one then
//! waits nine times as long as that took ([`REST_FACTOR`]), so a slow encode cannot become a
//! third competitor for the cores for the whole run.
//!
//! The idle class alone did not keep a large map out of the trainer's way on every CPU (on an
//! Intel Xeon the run lost about a third of its rate to 70,000-point refreshes), so after each
//! snapshot the encoder also rests for [`REST_PER_CPU`] times the CPU time it took: a large map
//! refreshes less often, never for more than about a tenth of one core.
//!
//! Only the newest weights wait: a snapshot offered while another waits replaces it. The
//! encode goes in chunks, so that a stopping run (or a closing window) waits for one chunk at
//! most, not for a whole map of a conv model.

use super::trained_codes::TrainedCodes;
use super::worker::{Event, EventSender, TrainedTo};
use super::workspace::Generation;
use crate::data::Dataset;
use crate::model::{Codes, Model};
use crate::train::TrainControl;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a snapshot may wait for idle time before it is finished at normal priority.
pub const STARVED_AFTER: Duration = Duration::from_secs(8);

/// After a snapshot that had to be finished at normal priority for a time T, the next one waits
/// in the idle class for this many times T (and at least [`STARVED_AFTER`]) before it may be
/// raised, so raised encoding takes at most about a tenth of the run. Without it, a slow encode
/// and no idle time made the encoder a third competitor for the two cores for the whole run: a
/// conv model's 70,000 codes take about 5 s of a core. In the real window under Xvfb (where
/// software painting takes the idle time; conv latent 2, Fashion-MNIST, 70,000 points, 105 s of
/// training), factors of 0 (as before), 3 and 9 gave 16.8, 17.7 and 18.7 steps a second, the
/// encoder taking 29.2, 21.9 and 18.3 s of CPU, and the map refreshed twice in the first 90 s
/// with each.
const REST_FACTOR: u32 = 9;

/// How long the snapshot after one raised to normal priority for `raised_for` waits in the idle
/// class before it may be raised too.
fn starved_after(raised_for: Duration) -> Duration {
    STARVED_AFTER.max(raised_for * REST_FACTOR)
}

/// After every snapshot the encoder rests for this many times the CPU time it took, so that
/// refreshing the map takes at most about a tenth of one core, however large the map. The idle
/// class alone is not enough on every CPU: on an Intel Xeon (Emerald Rapids, 2 cores, 70,000
/// MNIST points, latent 2) the encoder filled the trainer's idle moments with 1.3-3.5 s of CPU
/// an epoch (5-9 refreshes), and training in the window kept a median 0.66-0.73 of the command
/// line's rate (8 epochs each, twice), against 0.86-0.92 with no refreshes at all; resting 9
/// times as long gave 0.80-0.82 with 2 refreshes an epoch (one every 2 s or so, and the one at
/// the epoch's end). Small maps are not held back: 10,000 codes take a tenth as long, so their
/// rest is shorter than the trainer's own interval between offers ([`SNAPSHOT_EVERY`]).
///
/// [`SNAPSHOT_EVERY`]: super::worker::SNAPSHOT_EVERY
const REST_PER_CPU: u32 = 9;

/// Samples encoded between checks for a stopping run (a conv model encodes about 2,000 of them
/// in 160 ms on one thread).
const CHUNK: usize = 2048;

/// The weights of a snapshot, waiting for their codes.
struct Pending {
    model: Model,
    at: TrainedTo,
    /// The training rows' codes from the run itself ([`super::trained_codes`]): then only the
    /// other rows are encoded. None: the whole map is.
    trained: Option<TrainedCodes>,
}

/// The codes of the rows the trainer does not see, as last encoded.
struct HeldOutCodes {
    rows: Arc<Vec<usize>>,
    codes: Codes,
}

impl HeldOutCodes {
    /// Whether these are codes of `trained`'s rows to encode.
    fn serve(&self, trained: &TrainedCodes) -> bool {
        Arc::ptr_eq(&self.rows, &trained.encode_rows) && self.codes.latent == trained.codes.latent
    }

    /// Writes them into their rows of `codes`.
    fn fill(&self, codes: &mut Codes) {
        for (k, &row) in self.rows.iter().enumerate() {
            codes.set_row(row, &self.codes.mean, &self.codes.logvar, k);
        }
    }
}

#[derive(Default)]
struct Slot {
    pending: Option<Pending>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    slot: Mutex<Slot>,
    ready: Condvar,
    /// Set when the encoder is closed (the run ended, or the window is closing): what is left
    /// runs at normal priority, since nothing is training any more and someone is waiting.
    urgent: AtomicBool,
    /// The thread doing the encode's arithmetic (Linux thread id; 0 before it starts), so that
    /// `close` can raise it in the middle of a chunk: left in the idle class, a closing window
    /// waited 1.3 s for a conv chunk under Xvfb, and would wait as long as any other program
    /// kept both cores busy.
    worker: AtomicI32,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The thread that encodes training snapshots; dropping it (or [`Self::finish`]) waits for the
/// snapshot in hand, so that the run's last codes reach the window before it hears the run ended.
pub struct SnapshotEncoder {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
}

impl SnapshotEncoder {
    pub fn spawn(
        data: Arc<Dataset>,
        map_indices: Arc<Vec<usize>>,
        generation: Generation,
        control: TrainControl,
        events: EventSender,
    ) -> Self {
        let shared = Arc::new(Shared::default());
        let inbox = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("explorer-snapshots".into())
            .spawn(move || {
                // The encode's own parallel loops run on one thread of their own, not on the
                // shared pool, whose threads are training.
                let Ok(pool) = rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .thread_name(|_| "explorer-snapshot-maths".into())
                    .build()
                else {
                    return;
                };
                // Forgets the pool thread's id before the pool goes (dropped first, panics too).
                let _forget = ForgetWorker(&inbox);
                let mut patience = STARVED_AFTER;
                let mut rest_until = Instant::now();
                let mut held_out: Option<HeldOutCodes> = None;
                let served = |p: &Pending, held: &Option<HeldOutCodes>| {
                    p.trained
                        .as_ref()
                        .is_some_and(|t| held.as_ref().is_some_and(|h| h.serve(t)))
                };
                while let Some(Pending { model, at, trained }) =
                    next(&inbox, rest_until, |p| served(p, &held_out))
                {
                    let resting = Instant::now() < rest_until;
                    let codes =
                        snapshot_codes(trained, &mut held_out, resting, &map_indices, |rows| {
                            let ((encoded, raised_for), cpu) = pool.install(|| {
                                let cpu_before = thread_cpu_time();
                                let out = encode_in_idle_time(
                                    &model, &data, rows, &control, patience, &inbox,
                                );
                                (out, thread_cpu_time().saturating_sub(cpu_before))
                            });
                            patience = starved_after(raised_for);
                            rest_until = Instant::now() + rest_after(cpu);
                            encoded
                        });
                    // A stopping run's half-encoded map is not drawn; its final weights are
                    // encoded by the window once the run has ended.
                    if control.is_stopping() {
                        continue;
                    }
                    events.send(Event::TrainSnapshot {
                        generation,
                        model: Arc::new(model),
                        codes,
                        at,
                    });
                }
            })
            .ok();
        Self { shared, handle }
    }

    /// Hands weights over without waiting: a step is never held up by the map. Weights still
    /// waiting from an earlier offer are dropped for these newer ones. With `trained` codes,
    /// only their `encode_rows` are encoded (and while the encoder rests, not even those: they
    /// keep their last codes).
    pub fn offer(&self, model: Model, at: TrainedTo, trained: Option<TrainedCodes>) {
        if self.handle.is_none() {
            return;
        }
        self.shared.lock().pending = Some(Pending { model, at, trained });
        self.shared.ready.notify_one();
    }

    /// Waits until the snapshot in hand and the one waiting have reached the window.
    pub fn finish(mut self) {
        self.close();
    }

    fn close(&mut self) {
        // Raised before `closed` is set: until the encoder sees `closed` its threads live, so
        // the id names the encoder's own thread (cleared before that thread can end).
        self.shared.urgent.store(true, Ordering::SeqCst);
        set_thread_idle(self.shared.worker.load(Ordering::SeqCst), false);
        self.shared.lock().closed = true;
        self.shared.ready.notify_one();
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

/// Clears [`Shared::worker`] when dropped, so no stale thread id outlives the encoder.
struct ForgetWorker<'a>(&'a Shared);

impl Drop for ForgetWorker<'_> {
    fn drop(&mut self) {
        self.0.worker.store(0, Ordering::SeqCst);
    }
}

/// A snapshot's codes for the map: the whole map encoded (`encode` of all `map_indices`) when
/// the run gave no codes; else the run's codes with the rows it does not see encoded, or, while
/// the encoder rests (`resting`), given their last encoded codes (`held_out`, which an encode
/// here renews). None when encoding failed or the run stopped.
fn snapshot_codes(
    trained: Option<TrainedCodes>,
    held_out: &mut Option<HeldOutCodes>,
    resting: bool,
    map_indices: &[usize],
    encode: impl FnOnce(&[usize]) -> Option<Codes>,
) -> Option<Codes> {
    let Some(mut trained) = trained else {
        return encode(map_indices);
    };
    match held_out.as_ref().filter(|h| h.serve(&trained)) {
        // A copy, not an encode.
        Some(h) if resting => h.fill(&mut trained.codes),
        _ => {
            let rows: Vec<usize> = trained
                .encode_rows
                .iter()
                .map(|&r| map_indices[r])
                .collect();
            let h = HeldOutCodes {
                rows: Arc::clone(&trained.encode_rows),
                codes: encode(&rows)?,
            };
            h.fill(&mut trained.codes);
            *held_out = Some(h);
        }
    }
    Some(trained.codes)
}

/// The next weights to encode, not before `rest_until` unless the encoder is closed or the
/// offer needs no encoding (`served`): then at once. None once closed with nothing left.
/// Offers made while it rests replace each other, so it then takes the newest.
fn next(
    shared: &Shared,
    rest_until: Instant,
    served: impl Fn(&Pending) -> bool,
) -> Option<Pending> {
    let mut slot = shared.lock();
    loop {
        let now = Instant::now();
        if slot.closed || now >= rest_until || slot.pending.as_ref().is_some_and(&served) {
            if let Some(p) = slot.pending.take() {
                return Some(p);
            }
            if slot.closed {
                return None;
            }
        }
        slot = if now < rest_until {
            let woken = shared.ready.wait_timeout(slot, rest_until - now);
            woken.unwrap_or_else(|e| e.into_inner()).0
        } else {
            shared.ready.wait(slot).unwrap_or_else(|e| e.into_inner())
        };
    }
}

/// How long the encoder waits, after a snapshot that took `cpu` of its thread, before it takes
/// the next one (see [`REST_PER_CPU`]).
fn rest_after(cpu: Duration) -> Duration {
    cpu * REST_PER_CPU
}

/// CPU time the calling thread has used (wall time since first asked, elsewhere than Linux).
#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given, which lives across the call.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } == 0;
    if !ok {
        return Duration::ZERO;
    }
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_time() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// The map's codes under `model`, encoded on the calling thread in the idle class (raised to
/// normal priority once it has waited `patience`), chunk by chunk; None if the run stops first
/// or encoding fails. Also returns how long it ran raised.
fn encode_in_idle_time(
    model: &Model,
    data: &Dataset,
    indices: &[usize],
    control: &TrainControl,
    patience: Duration,
    shared: &Shared,
) -> (Option<Codes>, Duration) {
    let started = Instant::now();
    shared.worker.store(current_thread_id(), Ordering::SeqCst);
    let urgent = || shared.urgent.load(Ordering::SeqCst);
    if !urgent() {
        set_idle_priority(true);
    }
    let mut codes = Codes {
        latent: model.latent(),
        mean: Vec::with_capacity(indices.len() * model.latent()),
        logvar: Vec::with_capacity(indices.len() * model.latent()),
    };
    let mut raised: Option<Instant> = None;
    let raised_for = |raised: Option<Instant>| raised.map_or(Duration::ZERO, |t| t.elapsed());
    for chunk in indices.chunks(CHUNK) {
        if control.is_stopping() {
            return (None, raised_for(raised));
        }
        if raised.is_none() && (started.elapsed() > patience || urgent()) {
            set_idle_priority(false);
            raised = Some(Instant::now());
        }
        let Ok(part) = model.encode(data, chunk) else {
            return (None, raised_for(raised));
        };
        codes.mean.extend(part.mean);
        codes.logvar.extend(part.logvar);
    }
    (Some(codes), raised_for(raised))
}

/// Linux schedules each thread on its own: this moves only the calling one into the idle class
/// (`SCHED_IDLE`), which runs when a core has nothing else to do and gives way at once when a
/// training thread wakes, or back to the normal class. (Nice 10 was tried first: its share of a
/// contended core still held up the trainer's steps, whose halves wait for each other; the
/// window kept 82-111% of the command line's rate, against 94-98% with the idle class.)
fn set_idle_priority(idle: bool) {
    set_thread_idle(current_thread_id(), idle);
}

/// This thread's Linux thread id (0 elsewhere).
#[cfg(target_os = "linux")]
fn current_thread_id() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

#[cfg(not(target_os = "linux"))]
fn current_thread_id() -> i32 {
    0
}

/// Moves thread `tid` of this process into the idle class or back (0: no thread, nothing done).
#[cfg(target_os = "linux")]
fn set_thread_idle(tid: i32, idle: bool) {
    if tid == 0 {
        return;
    }
    let policy = if idle {
        libc::SCHED_IDLE
    } else {
        libc::SCHED_OTHER
    };
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler reads `param`, which outlives the call. A refusal (a thread
    // that has ended) leaves things as they were, which is only slower or less polite.
    unsafe {
        libc::sched_setscheduler(tid as libc::pid_t, policy, &param);
    }
}

/// Elsewhere a process-wide change would slow the window too: the encoder keeps normal priority.
#[cfg(not(target_os = "linux"))]
fn set_thread_idle(_: i32, _: bool) {}

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

    #[test]
    fn with_the_runs_codes_only_the_rows_it_does_not_see_are_encoded_and_none_while_resting() {
        let map = [10, 11, 12, 13];
        let rows = Arc::new(vec![1, 3]);
        let trained = |v: f32, rows: &Arc<Vec<usize>>| TrainedCodes {
            codes: Codes {
                latent: 1,
                mean: vec![v; 4],
                logvar: vec![v; 4],
            },
            encode_rows: Arc::clone(rows),
        };
        // "Encodes" dataset index i as the code i.
        let asked = std::cell::RefCell::new(Vec::new());
        let encode = |idx: &[usize]| {
            asked.borrow_mut().push(idx.to_vec());
            Some(Codes {
                latent: 1,
                mean: idx.iter().map(|&i| i as f32).collect(),
                logvar: vec![0.0; idx.len()],
            })
        };
        let mut held = None;
        // Not resting: the held-out rows are encoded, the others are the run's.
        let c = snapshot_codes(Some(trained(1.0, &rows)), &mut held, false, &map, encode);
        assert_eq!(c.unwrap().mean, vec![1.0, 11.0, 1.0, 13.0]);
        assert_eq!(asked.take(), vec![vec![11, 13]]);
        // Resting: the run's newer codes, the held-out rows' last ones, nothing encoded.
        let c = snapshot_codes(Some(trained(2.0, &rows)), &mut held, true, &map, encode);
        assert_eq!(c.unwrap().mean, vec![2.0, 11.0, 2.0, 13.0]);
        assert!(asked.take().is_empty());
        // Other rows to fill (not the ones kept) are encoded, rest or not.
        let other = Arc::new(vec![0]);
        let c = snapshot_codes(Some(trained(3.0, &other)), &mut held, true, &map, encode);
        assert_eq!(c.unwrap().mean, vec![10.0, 3.0, 3.0, 3.0]);
        assert_eq!(asked.take(), vec![vec![10]]);
        // No codes from the run: the whole map is encoded.
        let c = snapshot_codes(None, &mut held, true, &map, encode);
        assert_eq!(c.unwrap().mean, vec![10.0, 11.0, 12.0, 13.0]);
        assert_eq!(asked.take(), vec![map.to_vec()]);
        // A failed encode gives no codes.
        let c = snapshot_codes(Some(trained(4.0, &rows)), &mut None, false, &map, |_| None);
        assert!(c.is_none());
    }

    #[test]
    fn a_resting_encoder_takes_the_newest_offer_when_its_rest_ends_or_at_once_when_closed() {
        let (_, model) = bundled();
        let shared = Shared::default();
        let offer = |step| {
            shared.lock().pending = Some(Pending {
                model: model.duplicate().unwrap(),
                at: TrainedTo { step, epoch: 1 },
                trained: None,
            });
            shared.ready.notify_one();
        };
        // Resting: an offer waits for the rest to end; later offers replace it.
        offer(1);
        offer(2);
        let start = Instant::now();
        let got = next(&shared, start + Duration::from_millis(150), |_| false).unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(150),
            "taken while resting"
        );
        assert_eq!(got.at.step, 2);
        // Closed: what waits is taken at once, rest or not; then nothing is left.
        offer(3);
        shared.lock().closed = true;
        let start = Instant::now();
        let got = next(&shared, start + Duration::from_secs(60), |_| false).unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(got.at.step, 3);
        assert!(next(&shared, Instant::now() + Duration::from_secs(60), |_| false).is_none());
        assert_eq!(
            rest_after(Duration::from_millis(30)),
            Duration::from_millis(270)
        );
    }

    #[test]
    fn the_encoders_cpu_time_counts_its_work_not_its_waiting() {
        let before = thread_cpu_time();
        std::thread::sleep(Duration::from_millis(100));
        let slept = thread_cpu_time().saturating_sub(before);
        let before = thread_cpu_time();
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(100) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let spun = thread_cpu_time().saturating_sub(before);
        if cfg!(target_os = "linux") {
            assert!(slept < Duration::from_millis(20), "{slept:?} asleep");
            // On a busy machine the spinning thread may be descheduled for part of it.
            assert!(spun > Duration::from_millis(20), "{spun:?} spinning");
        }
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
    fn the_newest_weights_offered_reach_the_window_with_all_their_codes_before_finish_returns() {
        let (data, model) = bundled();
        // More than one chunk, and not a whole number of them.
        let indices: Arc<Vec<usize>> = Arc::new((0..2 * CHUNK + 123).collect());
        let expected = model.encode(&data, &indices).unwrap();
        let (tx, rx) = channel();
        let encoder = SnapshotEncoder::spawn(
            Arc::clone(&data),
            Arc::clone(&indices),
            Generation::default(),
            TrainControl::new(),
            EventSender::new(tx, egui::Context::default()),
        );
        for step in 1..=20 {
            encoder.offer(
                model.duplicate().unwrap(),
                TrainedTo { step, epoch: 1 },
                None,
            );
        }
        encoder.finish();
        let got = snapshots(&rx);
        // Offers that came while one was waiting replaced it; the last one is always drawn.
        let steps: Vec<usize> = got.iter().map(|g| g.0.step).collect();
        assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
        assert_eq!(steps.last(), Some(&20));
        for (_, codes) in got {
            let codes = codes.expect("codes");
            assert_eq!(codes.mean, expected.mean);
            assert_eq!(codes.logvar, expected.logvar);
        }
    }

    #[test]
    fn a_snapshot_raised_to_normal_priority_makes_the_next_one_wait_nine_times_as_long() {
        assert_eq!(starved_after(Duration::ZERO), STARVED_AFTER);
        assert_eq!(starved_after(Duration::from_millis(500)), STARVED_AFTER);
        assert_eq!(
            starved_after(Duration::from_secs(4)),
            Duration::from_secs(36)
        );
    }

    /// What `close` relies on: another thread of the process can be taken out of the idle
    /// class in the middle of its work.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_thread_in_the_idle_class_can_be_raised_from_another_thread() {
        let policy = || {
            // SAFETY: sched_getscheduler(0) asks about the calling thread; no memory is passed.
            unsafe { libc::sched_getscheduler(0) }
        };
        let (tx_tid, rx_tid) = std::sync::mpsc::channel();
        let (tx_go, rx_go) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::spawn(move || {
            set_idle_priority(true);
            let idle = policy();
            tx_tid.send(current_thread_id()).unwrap();
            rx_go.recv().unwrap();
            (idle, policy())
        });
        let tid = rx_tid.recv().unwrap();
        set_thread_idle(tid, false);
        tx_go.send(()).unwrap();
        let (before, after) = worker.join().unwrap();
        assert_eq!(before, libc::SCHED_IDLE);
        assert_eq!(after, libc::SCHED_OTHER);
    }

    #[test]
    fn a_stopping_run_draws_no_more_snapshots() {
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
        encoder.offer(
            model.duplicate().unwrap(),
            TrainedTo { step: 1, epoch: 1 },
            None,
        );
        control.stop();
        encoder.offer(
            model.duplicate().unwrap(),
            TrainedTo { step: 2, epoch: 1 },
            None,
        );
        let started = Instant::now();
        encoder.finish();
        // One chunk at most was still being encoded.
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(snapshots(&rx).is_empty());
    }
}
