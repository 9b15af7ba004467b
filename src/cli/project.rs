//! `latent-explorer project`: every sample's 2D map position (PCA, t-SNE or UMAP of the
//! posterior means) as CSV `index,label,x,y`, with the run's progress on stderr.

use super::{DataArg, model_or_default};
use clap::{Args, ValueEnum};
use latent_explorer::atomic::write_atomically;
use latent_explorer::error::{Error, Result};
use latent_explorer::latent::Pca;
use latent_explorer::latent::layout::{
    CancelFlag, LayoutMethod, LayoutParams, LayoutProgress, Stage, compute_layout,
};
use latent_explorer::model::Model;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    Pca,
    Tsne,
    Umap,
}

#[derive(Args, Debug)]
pub struct ProjectArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Checkpoint to encode with (default: the bundled latent-2 MNIST model).
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// pca (first two principal components), tsne or umap.
    #[arg(long, value_enum, default_value = "pca")]
    pub method: MethodArg,
    /// t-SNE perplexity (5 to 100).
    #[arg(long, default_value_t = LayoutParams::default().perplexity)]
    pub perplexity: f32,
    /// UMAP neighbours, the point itself included (2 to 200).
    #[arg(long, default_value_t = LayoutParams::default().neighbours)]
    pub neighbours: usize,
    /// UMAP minimum distance between points on the map (0 to 1).
    #[arg(long, default_value_t = LayoutParams::default().min_dist)]
    pub min_dist: f32,
    #[arg(long, default_value_t = LayoutParams::default().seed)]
    pub seed: u64,
    /// CSV file to write (index,label,x,y; one row per sample).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
}

pub fn project_cmd(a: ProjectArgs) -> Result<()> {
    super::commands::check_out_dir(&a.out)?;
    let params = LayoutParams {
        perplexity: a.perplexity,
        neighbours: a.neighbours,
        min_dist: a.min_dist,
        seed: a.seed,
    };
    let method = match a.method {
        MethodArg::Pca => None,
        MethodArg::Tsne => Some(LayoutMethod::Tsne),
        MethodArg::Umap => Some(LayoutMethod::Umap),
    };
    // Parameters are checked before the slow part (loading and encoding).
    if let Some(m) = method {
        params.validate(m, usize::MAX)?;
    }
    let data = super::commands::load_data(&a.data)?;
    let model_path = model_or_default(a.model.clone())?;
    super::commands::check_not_input(&a.out, Some(&data), Some(&model_path))?;
    let model = Model::load(&model_path)?;
    let indices: Vec<usize> = (0..data.len()).collect();
    let start = Instant::now();
    eprintln!("encoding {} samples", indices.len());
    let codes = model.encode(&data, &indices)?;
    let l = codes.latent;
    let coords: Vec<[f32; 2]> = match method {
        None => {
            let pca = Pca::fit(&codes.mean, l, 2)?;
            codes
                .mean
                .chunks_exact(l)
                .map(|c| {
                    let p = pca.project(c);
                    [p[0], p.get(1).copied().unwrap_or(0.0)]
                })
                .collect()
        }
        Some(m) => {
            let mut reporter = Reporter::default();
            compute_layout(&codes.mean, l, m, &params, &CancelFlag::new(), &mut |p| {
                reporter.report(p)
            })?
            .ok_or_else(|| Error::InvalidArgument("the layout was cancelled".into()))?
        }
    };
    let mut csv = String::with_capacity(indices.len() * 32);
    csv.push_str("index,label,x,y\n");
    for (&i, c) in indices.iter().zip(&coords) {
        let label = data.label(i).map(|v| v.to_string()).unwrap_or_default();
        let _ = writeln!(csv, "{i},{label},{},{}", c[0], c[1]);
    }
    write_atomically(&a.out, csv.as_bytes())?;
    println!(
        "wrote {} map positions to {} in {:.1} s",
        coords.len(),
        a.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Prints a line per stage and every tenth of the epochs.
#[derive(Default)]
struct Reporter {
    last: Option<(Stage, usize)>,
}

impl Reporter {
    fn report(&mut self, p: &LayoutProgress) {
        let step = match p.stage {
            Stage::Optimising => p.done * 10 / p.total.max(1),
            Stage::Neighbours => p.done * 4 / p.total.max(1),
            Stage::Graph => 0,
        };
        if self.last != Some((p.stage, step)) {
            self.last = Some((p.stage, step));
            eprintln!("{}", p.describe());
        }
    }
}
