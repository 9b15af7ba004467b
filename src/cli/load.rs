//! Reading a dataset from the command line: an image folder draws a progress bar on stderr
//! (listing, headers, then images with images/s; hidden by `--quiet` or when stderr is not a
//! terminal), and the caller is given a line saying how fast it read. Ctrl+C ends the process
//! as it always has.

use indicatif::{ProgressBar, ProgressStyle};
use latent_explorer::data::{
    Dataset, LoadOptions, LoadProgress, LoadStage, load_dataset_with_progress,
};
use latent_explorer::error::Result;
use std::path::Path;
use std::time::Instant;

/// Loads `path` as [`load_dataset`](latent_explorer::data::load_dataset) does, showing its
/// progress unless `quiet`. For an image folder, also a line for stdout: how many images were
/// read in how long (listing, headers and decoding), and on how many threads.
pub fn load_with_progress(
    path: &Path,
    options: &LoadOptions,
    quiet: bool,
) -> Result<(Dataset, Option<String>)> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        // Drawn only on a terminal: logs and pipes get the summary line alone.
        ProgressBar::new(0)
    };
    let (counting, bounded) = (style(COUNTING)?, style(BOUNDED)?);
    let observed = bar.clone();
    let progress = LoadProgress::with_observer(move |p| {
        let v = p.view();
        if v.done == 0 {
            // A stage starts (the loader announces each before its first step).
            observed.reset();
            observed.set_style(match v.stage {
                LoadStage::Listing | LoadStage::Opening => counting.clone(),
                LoadStage::ReadingHeaders | LoadStage::Decoding => bounded.clone(),
            });
            observed.set_length(v.total as u64);
            observed.set_prefix(v.stage.describe());
        } else {
            observed.set_position(v.done as u64);
        }
    });
    let t0 = Instant::now();
    let result = load_dataset_with_progress(path, options, &progress);
    bar.finish_and_clear();
    let data = result?;
    let speed = (progress.view().stage == LoadStage::Decoding).then(|| {
        let secs = t0.elapsed().as_secs_f64();
        format!(
            "read {} images in {secs:.2} s ({:.0} images/s, {} threads)",
            data.len(),
            data.len() as f64 / secs.max(1e-9),
            rayon::current_num_threads()
        )
    });
    Ok((data, speed))
}

/// While listing, the number of files is not known yet.
const COUNTING: &str = "{prefix}: {human_pos} files [{elapsed}]";
const BOUNDED: &str = "{prefix}: {bar:30} {human_pos}/{human_len}, {per_sec:0} [{elapsed} < {eta}]";

fn style(template: &str) -> Result<ProgressStyle> {
    ProgressStyle::with_template(template)
        .map_err(|e| latent_explorer::error::Error::InvalidArgument(e.to_string()))
}
