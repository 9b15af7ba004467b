//! Latent codes written for numpy: the file type follows the output's extension. `.npy` holds
//! the posterior means (float32, N x L) with the labels beside it in `<stem>.labels.npy`
//! (int64); `.npz` holds `mean`, `logvar`, `index` and, for a labelled dataset, `labels`.
//! The command line and the window's export share this, so both write the same files.

use crate::error::Result;
use crate::model::Codes;
use crate::npy::{npy_f32, npy_i64, npz};
use std::path::{Path, PathBuf};

/// The file types codes can be written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodesFormat {
    Csv,
    Npy,
    Npz,
}

impl CodesFormat {
    /// By the path's extension (case-insensitive); anything else is CSV.
    pub fn of(path: &Path) -> Self {
        match path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .as_deref()
        {
            Some("npy") => CodesFormat::Npy,
            Some("npz") => CodesFormat::Npz,
            _ => CodesFormat::Csv,
        }
    }
}

/// Where the labels of a `.npy` export go: "codes.npy" -> "codes.labels.npy".
pub fn labels_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "codes".into());
    out.with_file_name(format!("{stem}.labels.npy"))
}

/// The files (path and bytes) for `codes` of the samples `indices` written to `out` as numpy:
/// `.npz` gives one archive; anything else the means as `.npy` plus the labels file when
/// `labels` (one per code) are given.
pub fn numpy_files(
    out: &Path,
    codes: &Codes,
    indices: &[usize],
    labels: Option<&[i64]>,
) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let shape = [codes.len(), codes.latent];
    if CodesFormat::of(out) == CodesFormat::Npz {
        let index: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
        let mut members = vec![
            ("mean", npy_f32(&shape, &codes.mean)?),
            ("logvar", npy_f32(&shape, &codes.logvar)?),
            ("index", npy_i64(&[index.len()], &index)?),
        ];
        if let Some(l) = labels {
            members.push(("labels", npy_i64(&[l.len()], l)?));
        }
        return Ok(vec![(out.to_path_buf(), npz(&members)?)]);
    }
    let mut files = vec![(out.to_path_buf(), npy_f32(&shape, &codes.mean)?)];
    if let Some(l) = labels {
        files.push((labels_path(out), npy_i64(&[l.len()], l)?));
    }
    Ok(files)
}

/// Quotes a CSV field (RFC 4180) when it holds a comma, quote or line break: the few text
/// fields (class names) in the codes the window and the command line write.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
