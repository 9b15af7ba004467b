//! The last line of "nothing trained is lost": a panic hook that writes the window's unsaved,
//! trained model to the recovery file before the process goes down. The app keeps the hook's
//! copy current every frame (an `Arc`, no weights copied); the hook only tries the lock, so a
//! panic while the lock is held cannot deadlock.

use crate::model::Model;
use crate::recovery::RecoveryStore;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Once};

type Unsaved = (
    Arc<Model>,
    Option<RecoveryStore>,
    Option<PathBuf>,
    Option<PathBuf>,
);

static UNSAVED: Mutex<Option<Unsaved>> = Mutex::new(None);
static INSTALL: Once = Once::new();

/// What the hook would write now (None: nothing unsaved).
pub fn set_unsaved(unsaved: Option<Unsaved>) {
    if let Ok(mut slot) = UNSAVED.try_lock() {
        *slot = unsaved;
    }
}

/// Installs the hook once per process, in front of the one already there.
pub fn install_panic_hook() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Worker threads catch their panics and live on; only the UI thread's panic ends
            // the window, but writing on any panic is harmless and cheap.
            if let Ok(slot) = UNSAVED.try_lock()
                && let Some((model, Some(store), data, from)) = slot.as_ref()
            {
                let _ = store.save(model, data.as_deref(), from.as_deref());
            }
            previous(info);
        }));
    });
}
