//! Named groups of samples: a region lassoed on the map, a label, the samples above an anomaly
//! threshold. A group is a set of dataset indices with a name and a colour; it is saved in
//! session files, so it is plain data (serde) and is checked against the dataset it is used
//! with. What it can do: its statistics (mean code, mean reconstruction error and KL of its
//! members, the samples nearest its mean code) and its export (indices, labels and codes as
//! CSV or NumPy; its images as a PNG grid).

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::Codes;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Colours given to new groups in turn: bright, and apart from the map's class colours
/// (Tableau 10), so that a group's rings stand out on any label.
pub const GROUP_COLOURS: [[u8; 3]; 8] = [
    [255, 215, 0],
    [255, 0, 255],
    [0, 255, 255],
    [50, 255, 50],
    [255, 90, 40],
    [255, 255, 255],
    [150, 110, 255],
    [255, 150, 200],
];

/// The most member images a group's PNG grid holds (the first ones by index): 1,024 MNIST
/// digits are a 900 x 900 picture at scale 1; all 70,000 would be a 60-megapixel one.
pub const MAX_PICTURE_MEMBERS: usize = 1024;

/// A named set of samples.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub colour: [u8; 3],
    /// Dataset indices, ascending, each once.
    pub indices: Vec<u32>,
    /// Drawn on the map.
    pub visible: bool,
}

impl Group {
    /// A visible group of `indices` (sorted and made unique here).
    pub fn new(name: impl Into<String>, colour: [u8; 3], mut indices: Vec<u32>) -> Self {
        indices.sort_unstable();
        indices.dedup();
        Self {
            name: name.into(),
            colour,
            indices,
            visible: true,
        }
    }

    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Every member is a sample of a dataset of `len` samples (a group read from a session
    /// file may name another dataset's).
    pub fn check(&self, len: usize) -> Result<()> {
        match self.indices.iter().find(|&&i| i as usize >= len) {
            Some(i) => Err(Error::InvalidArgument(format!(
                "group \"{}\" names sample {i}, but the dataset has {len} samples",
                self.name
            ))),
            None => Ok(()),
        }
    }

    /// The samples among `candidates` whose label is `label`.
    pub fn of_label(data: &Dataset, candidates: &[usize], label: u16) -> Vec<u32> {
        candidates
            .iter()
            .filter(|&&i| data.label(i) == Some(label))
            .map(|&i| i as u32)
            .collect()
    }

    /// The members' rows in a table whose row of sample `i` is `row_of(i)` (members without
    /// a row are left out), in member order.
    pub fn rows(&self, row_of: impl Fn(usize) -> Option<usize>) -> Vec<usize> {
        self.indices
            .iter()
            .filter_map(|&i| row_of(i as usize))
            .collect()
    }
}

/// The colour for the next group: the first of [`GROUP_COLOURS`] no group has, else by count.
pub fn next_colour(groups: &[Group]) -> [u8; 3] {
    GROUP_COLOURS
        .iter()
        .find(|c| !groups.iter().any(|g| g.colour == **c))
        .copied()
        .unwrap_or(GROUP_COLOURS[groups.len() % GROUP_COLOURS.len()])
}

/// What a group's members have in common.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupStats {
    /// Members with a code.
    pub count: usize,
    /// The mean of the members' posterior means.
    pub mean_code: Vec<f32>,
    /// Mean reconstruction error and mean KL of the members, when scores were given.
    pub mean_recon: Option<f32>,
    pub mean_kl: Option<f32>,
    /// Rows of all the codes (members or not) nearest the mean code, nearest first.
    pub nearest: Vec<usize>,
}

/// Statistics of the group at `rows` of `codes`; `scores` are (reconstruction error, KL) for
/// every row of `codes`, when known; `nearest` rows nearest the mean code are listed.
pub fn group_stats(
    codes: &Codes,
    rows: &[usize],
    scores: Option<(&[f32], &[f32])>,
    nearest: usize,
) -> Result<GroupStats> {
    if rows.is_empty() {
        return Err(Error::InvalidArgument(
            "the group has no samples with a code".into(),
        ));
    }
    if let Some(&r) = rows.iter().find(|&&r| r >= codes.len()) {
        return Err(Error::InvalidArgument(format!(
            "row {r} of the group is out of range: there are {} codes",
            codes.len()
        )));
    }
    let mean_code = super::attribute::mean_code(codes, rows);
    let mean_of = |values: &[f32]| {
        (values.len() == codes.len()).then(|| {
            (rows.iter().map(|&r| values[r] as f64).sum::<f64>() / rows.len() as f64) as f32
        })
    };
    let (mean_recon, mean_kl) = match scores {
        Some((recon, kl)) => (mean_of(recon), mean_of(kl)),
        None => (None, None),
    };
    Ok(GroupStats {
        count: rows.len(),
        nearest: nearest_rows(codes, &mean_code, nearest),
        mean_code,
        mean_recon,
        mean_kl,
    })
}

/// The `k` rows of `codes` whose posterior means are nearest `code` (Euclidean), nearest first.
pub fn nearest_rows(codes: &Codes, code: &[f32], k: usize) -> Vec<usize> {
    if code.len() != codes.latent {
        return Vec::new();
    }
    let mut dist: Vec<(f32, usize)> = (0..codes.len())
        .map(|r| {
            let d = codes
                .mean_of(r)
                .iter()
                .zip(code)
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            (d, r)
        })
        .collect();
    let k = k.min(dist.len());
    if k == 0 {
        return Vec::new();
    }
    dist.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
    dist.truncate(k);
    dist.sort_by(|a, b| a.0.total_cmp(&b.0));
    dist.into_iter().map(|(_, r)| r).collect()
}

/// The codes at `rows` (means and log-variances), in that order.
pub fn codes_at(codes: &Codes, rows: &[usize]) -> Codes {
    let l = codes.latent;
    let pick = |v: &[f32]| -> Vec<f32> {
        rows.iter()
            .flat_map(|&r| v[r * l..(r + 1) * l].iter().copied())
            .collect()
    };
    Codes {
        latent: l,
        mean: pick(&codes.mean),
        logvar: pick(&codes.logvar),
    }
}

/// A group's members as CSV: index, split, label, class, mean_0.., logvar_0.. (`codes` row k is
/// sample `indices[k]`).
pub fn group_csv(data: &Dataset, indices: &[usize], codes: &Codes) -> Result<String> {
    use std::fmt::Write as _;
    check_aligned(data, indices, codes)?;
    let l = codes.latent;
    let mut out = String::from("index,split,label,class");
    for k in 0..l {
        let _ = write!(out, ",mean_{k}");
    }
    for k in 0..l {
        let _ = write!(out, ",logvar_{k}");
    }
    out.push('\n');
    for (k, &i) in indices.iter().enumerate() {
        let label = data.label(i).map(|v| v.to_string()).unwrap_or_default();
        let class = super::csv_field(data.class_name(i).unwrap_or(""));
        let _ = write!(out, "{i},{},{label},{class}", data.split_of(i).as_str());
        for v in codes.mean_of(k) {
            let _ = write!(out, ",{v}");
        }
        for v in &codes.logvar[k * l..(k + 1) * l] {
            let _ = write!(out, ",{v}");
        }
        out.push('\n');
    }
    Ok(out)
}

/// Where the indices of a `.npy` group export go: "group.npy" -> "group.indices.npy".
pub fn indices_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "group".into());
    out.with_file_name(format!("{stem}.indices.npy"))
}

/// A group's members as NumPy files for `out`: `.npz` gives one archive (mean, logvar, index,
/// labels); anything else the means (float32, N x L) in `out`, the labels (int64) in
/// `<stem>.labels.npy` and the dataset indices (int64) in `<stem>.indices.npy` beside it.
pub fn group_numpy_files(
    out: &Path,
    data: &Dataset,
    indices: &[usize],
    codes: &Codes,
) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    check_aligned(data, indices, codes)?;
    let labels: Option<Vec<i64>> = data
        .labels()
        .map(|all| indices.iter().map(|&i| all[i] as i64).collect());
    let mut files = super::numpy_files(out, codes, indices, labels.as_deref())?;
    if super::CodesFormat::of(out) != super::CodesFormat::Npz {
        let index: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
        files.push((
            indices_path(out),
            crate::npy::npy_i64(&[index.len()], &index)?,
        ));
    }
    Ok(files)
}

/// The members' images as a grid (at most [`MAX_PICTURE_MEMBERS`], the first by index), and
/// how many it shows.
pub fn group_picture(
    data: &Dataset,
    indices: &[usize],
    scale: u32,
) -> Result<(image::DynamicImage, usize)> {
    if indices.is_empty() {
        return Err(Error::InvalidArgument("the group has no samples".into()));
    }
    if let Some(&i) = indices.iter().find(|&&i| i >= data.len()) {
        return Err(Error::InvalidArgument(format!(
            "sample {i} is not in the dataset of {} samples",
            data.len()
        )));
    }
    let shown = &indices[..indices.len().min(MAX_PICTURE_MEMBERS)];
    let values: Vec<f32> = shown.iter().flat_map(|&i| data.image(i)).collect();
    let columns = crate::render::grid_columns(shown.len());
    let picture = crate::render::grid(&values, data.shape, columns, scale)?;
    Ok((picture, shown.len()))
}

fn check_aligned(data: &Dataset, indices: &[usize], codes: &Codes) -> Result<()> {
    if codes.len() != indices.len() {
        return Err(Error::InvalidArgument(format!(
            "{} codes for {} samples",
            codes.len(),
            indices.len()
        )));
    }
    if let Some(&i) = indices.iter().find(|&&i| i >= data.len()) {
        return Err(Error::InvalidArgument(format!(
            "sample {i} is not in the dataset of {} samples",
            data.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_sorted_checked_and_coloured_apart() {
        let g = Group::new("a", GROUP_COLOURS[0], vec![5, 1, 5, 3]);
        assert_eq!(g.indices, vec![1, 3, 5]);
        assert!(g.check(6).is_ok());
        let e = g.check(5).unwrap_err().to_string();
        assert!(e.contains("\"a\"") && e.contains("sample 5"), "{e}");
        assert_eq!(next_colour(std::slice::from_ref(&g)), GROUP_COLOURS[1]);
        assert_eq!(g.rows(|i| (i != 3).then_some(i * 10)), vec![10, 50]);
    }

    #[test]
    fn stats_average_the_members_and_find_the_nearest_codes() {
        let codes = Codes {
            latent: 2,
            mean: vec![0.0, 0.0, 2.0, 0.0, 1.0, 0.1, 9.0, 9.0],
            logvar: vec![0.0; 8],
        };
        let recon = [1.0, 3.0, 100.0, 100.0];
        let kl = [0.5, 1.5, 0.0, 0.0];
        let s = group_stats(&codes, &[0, 1], Some((&recon, &kl)), 2).unwrap();
        assert_eq!(s.mean_code, vec![1.0, 0.0]);
        assert_eq!((s.mean_recon, s.mean_kl), (Some(2.0), Some(1.0)));
        assert_eq!(s.nearest[0], 2);
        assert!(group_stats(&codes, &[], None, 2).is_err());
        assert!(group_stats(&codes, &[4], None, 2).is_err());
        let sub = codes_at(&codes, &[3, 0]);
        assert_eq!(sub.mean, vec![9.0, 9.0, 0.0, 0.0]);
    }
}
