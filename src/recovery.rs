//! A model trained but not yet saved is written to a recovery file after every epoch, at exit
//! and from a panic hook, so that a crash, a killed process or a closed window loses nothing:
//! the next start finds it and offers to restore it.
//!
//! The folder holds one model (`unsaved-model.safetensors`, written atomically like every
//! checkpoint) and a small JSON note beside it (when and from which dataset). Saving the model
//! for real, or discarding it, deletes both.

use crate::atomic::write_atomically;
use crate::model::Model;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

const MODEL_FILE: &str = "unsaved-model.safetensors";
const NOTE_FILE: &str = "unsaved-model.json";

/// What is known of a recovered model besides its weights.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecoveryNote {
    /// Seconds since the Unix epoch when it was written.
    pub saved_at: u64,
    /// The dataset it was being trained on.
    pub dataset: Option<PathBuf>,
    /// The file it was opened from, if any (it has changed since).
    pub model: Option<PathBuf>,
}

/// A recovery file found at start.
#[derive(Clone, Debug)]
pub struct Recovered {
    pub model_path: PathBuf,
    pub note: RecoveryNote,
}

impl Recovered {
    /// "2026-11-30 09:12 UTC"-style time of writing.
    pub fn when(&self) -> String {
        format_utc(self.note.saved_at)
    }
}

/// The recovery folder.
#[derive(Clone, Debug)]
pub struct RecoveryStore {
    dir: PathBuf,
}

impl RecoveryStore {
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `$LATENT_EXPLORER_RECOVERY_DIR`, else `$XDG_STATE_HOME/latent-explorer/recovery`, else
    /// `~/.local/state/latent-explorer/recovery`, else a folder in the temp dir.
    pub fn default_location() -> Self {
        if let Some(d) = std::env::var_os("LATENT_EXPLORER_RECOVERY_DIR") {
            return Self::at(d);
        }
        let base = std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
            .unwrap_or_else(std::env::temp_dir);
        Self::at(base.join("latent-explorer").join("recovery"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn model_path(&self) -> PathBuf {
        self.dir.join(MODEL_FILE)
    }

    /// Writes `model` (weights first, then the note, each atomically).
    pub fn save(&self, model: &Model, dataset: Option<&Path>, from: Option<&Path>) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        model.save(&self.model_path())?;
        let note = RecoveryNote {
            saved_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            dataset: dataset.map(Path::to_path_buf),
            model: from.map(Path::to_path_buf),
        };
        let json = serde_json::to_vec_pretty(&note).unwrap_or_default();
        write_atomically(&self.dir.join(NOTE_FILE), &json)
    }

    /// The recovered model, if one is waiting (a model file without a readable note still
    /// counts: the weights are what matters).
    pub fn find(&self) -> Option<Recovered> {
        let model_path = self.model_path();
        if !model_path.is_file() {
            return None;
        }
        let note = std::fs::read(self.dir.join(NOTE_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(|| RecoveryNote {
                saved_at: std::fs::metadata(&model_path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
                ..RecoveryNote::default()
            });
        Some(Recovered { model_path, note })
    }

    /// Deletes the recovery file (the model was saved, or the user said to discard it).
    pub fn discard(&self) {
        let _ = std::fs::remove_file(self.model_path());
        let _ = std::fs::remove_file(self.dir.join(NOTE_FILE));
    }
}

/// Seconds since the epoch as "YYYY-MM-DD HH:MM UTC" (civil-from-days, no time-zone data).
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(1_796_000_000), "2026-11-30 00:53 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
    }
}
