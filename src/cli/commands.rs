//! What each subcommand does, on top of the library core.

mod figures;

use super::*;
use indicatif::{ProgressBar, ProgressStyle};
use latent_explorer::atomic::write_atomically;
use latent_explorer::data::{Dataset, LoadOptions, Split};
use latent_explorer::error::{Error, Result};
use latent_explorer::latent::csv_field as field;
use latent_explorer::latent::{InterpolationKind, interpolate_path, sample_prior};
use latent_explorer::model::{Architecture, Classes, Likelihood, Model, VaeConfig};
use latent_explorer::render::{grid, grid_columns, save_png, strip};
use latent_explorer::train::{TrainConfig, TrainControl, TrainEvent, train};
use std::fmt::Write as _;
use std::path::Path;

/// Runs one subcommand. The window (`open`, or no subcommand) is `main`'s business.
pub fn run_command(command: Command) -> Result<()> {
    match command {
        Command::Open(_) => Err(Error::InvalidArgument(
            "open is handled before subcommands run".into(),
        )),
        Command::Train(a) => train_cmd(a),
        Command::Encode(a) => encode_cmd(a),
        Command::Sample(a) => sample_cmd(a),
        Command::Interpolate(a) => interpolate_cmd(a),
        Command::Reconstruct(a) => reconstruct_cmd(a),
        Command::Anomalies(a) => anomalies_cmd(a),
        Command::Inpaint(a) => inpaint_cmd(a),
        Command::Evaluate(a) => evaluate_cmd(a),
        Command::Traverse(a) => figures::traverse_cmd(a),
        Command::Analogy(a) => figures::analogy_cmd(a),
        Command::Cluster(a) => cluster_cmd(a),
        Command::Sweep(a) => super::sweep::sweep_cmd(a),
        Command::Info(a) => info_cmd(a),
        Command::Project(a) => super::project::project_cmd(a),
        Command::Bench(a) => crate::bench::run(a),
        Command::BenchScale(a) => crate::bench_scale::run(&crate::bench_scale::ScaleOptions {
            data: data_or_default(a.data)?,
            model: model_or_default(a.model)?,
            sizes: a.sizes,
            frames: a.frames.max(1),
            latent: a.latent,
            window_rounds: a.window_rounds.max(1),
        }),
        Command::BenchMaps(a) => crate::bench_maps::run(&crate::bench_maps::MapsOptions {
            data: data_or_default(a.data)?,
            model: match a.model {
                Some(m) => m,
                None => crate::bundled::model_latent16()?,
            },
            sample: a.sample.max(1),
            no_frames: a.no_frames,
            frames_only: a.frames_only,
        }),
        Command::Soak(a) => crate::soak::run(
            &data_or_default(a.data)?,
            a.minutes,
            a.latent,
            a.report_every,
        ),
    }
}

pub(super) fn load_data(arg: &DataArg) -> Result<Dataset> {
    let path = data_or_default(arg.data.clone())?;
    let image_size = (arg.image_size.as_deref())
        .map(latent_explorer::data::parse_image_size)
        .transpose()
        .map_err(Error::InvalidArgument)?;
    let (data, speed) = super::load::load_with_progress(
        &path,
        &LoadOptions {
            image_size,
            pixel_range: arg.pixel_range,
            label_column: arg.label_column,
        },
        arg.quiet,
    )?;
    print_report(&data);
    if let Some(speed) = speed {
        println!("load: {speed}");
    }
    if let Some((h, w)) = image_size
        && (data.shape.height, data.shape.width) != (h, w)
    {
        return Err(Error::InvalidArgument(format!(
            "--image-size {h}x{w} resizes image folders only; {} holds {} images",
            path.display(),
            data.shape
        )));
    }
    Ok(data)
}

/// What the load did, on stdout beside the command's other progress lines (stderr is kept
/// for the one-line error).
fn print_report(data: &Dataset) {
    for line in data.report().lines() {
        println!("load: {line}");
    }
}

/// The path as it will be written: canonical folder and the file name (the file may not exist).
fn resolved(p: &Path) -> Option<std::path::PathBuf> {
    if let Ok(c) = p.canonicalize() {
        return Some(c);
    }
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.canonicalize().ok()?,
        _ => std::env::current_dir().ok()?,
    };
    Some(dir.join(p.file_name()?))
}

/// Refuses an output that is one of the inputs (the dataset's files, the model), before any
/// work is done: an output never overwrites what it was made from.
pub(super) fn check_not_input(
    out: &Path,
    data: Option<&Dataset>,
    model: Option<&Path>,
) -> Result<()> {
    let Some(target) = resolved(out) else {
        return Ok(());
    };
    let mut inputs: Vec<&Path> = model.into_iter().collect();
    if let Some(d) = data {
        inputs.push(&d.source);
        inputs.extend(d.report().files.iter().map(|p| p.as_path()));
    }
    if inputs.iter().any(|i| resolved(i).as_ref() == Some(&target)) {
        return Err(Error::InvalidArgument(format!(
            "{} is an input of this command; write the output to another file",
            out.display()
        )));
    }
    Ok(())
}

/// Refuses an output path whose folder does not exist, before any long work starts.
pub(super) fn check_out_dir(out: &Path) -> Result<()> {
    match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(Error::NotFound {
            path: dir.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

fn load_model(path: &Option<std::path::PathBuf>) -> Result<Model> {
    Model::load(&model_or_default(path.clone())?)
}

fn check_index(data: &Dataset, i: usize) -> Result<()> {
    if i >= data.len() {
        return Err(Error::InvalidArgument(format!(
            "index {i} is out of range: {} has {} samples (0..{})",
            data.name,
            data.len(),
            data.len()
        )));
    }
    Ok(())
}

fn train_cmd(a: TrainArgs) -> Result<()> {
    check_out_dir(&a.out)?;
    if a.limit == Some(0) {
        return Err(Error::InvalidArgument("--limit must be at least 1".into()));
    }
    let mut data = load_data(&a.data)?;
    if let Some(limit) = a.limit {
        let mut keep: Vec<usize> = data.indices(Split::Train).into_iter().take(limit).collect();
        keep.extend(
            data.indices(Split::Test)
                .into_iter()
                .take(limit.div_ceil(6)),
        );
        data = data.subset(&keep)?;
    }
    check_not_input(&a.out, Some(&data), None)?;
    let budget = latent_explorer::budget::Budget::current();
    let mut model = match &a.model {
        Some(p) => {
            let m = Model::load(p)?;
            if a.conditional && !m.config().conditional {
                return Err(Error::InvalidArgument(format!(
                    "--conditional makes a new model; {} is not conditional",
                    p.display()
                )));
            }
            budget.check_model(m.config(), a.batch_size)?;
            m
        }
        None => {
            // Refused before anything else is chosen or printed: a conditional model needs
            // labels.
            let conditioned = |c: VaeConfig| {
                if a.conditional {
                    c.conditioned_on(&data)
                } else {
                    Ok(c)
                }
            };
            conditioned(VaeConfig::for_shape(data.shape, a.latent))?;
            let likelihood = a.likelihood.unwrap_or_else(|| {
                let (suggested, fraction) = Likelihood::suggested_for(&data);
                println!(
                    "likelihood: {suggested} ({:.0}% of the values are near 0 or 1)",
                    fraction * 100.0
                );
                suggested
            });
            let hidden = match a.arch {
                Architecture::Mlp => a.hidden.clone(),
                Architecture::Conv => a.channels.clone(),
            };
            let config = conditioned(VaeConfig {
                arch: a.arch,
                hidden,
                likelihood,
                beta: a.beta,
                ..VaeConfig::for_shape(data.shape, a.latent)
            })?;
            config.validate()?;
            budget.check_model(&config, a.batch_size)?;
            Model::new_random(config, a.seed)?
        }
    };
    model.check_fits(&data)?;
    let cfg = TrainConfig {
        epochs: a.epochs,
        batch_size: a.batch_size,
        learning_rate: a.learning_rate,
        beta: a.beta,
        seed: a.seed,
        holdout_fraction: a.holdout,
        beta_schedule: a.beta_schedule,
    };
    println!("data:  {}", data.summary());
    println!(
        "model: {} ({} parameters)",
        model.config().summary(),
        model.config().parameter_count()
    );
    let bar = if a.data.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} epoch {prefix} step {pos}/{len} {msg} [{elapsed_precise} < {eta}]",
        )
        .map_err(|e| Error::InvalidArgument(e.to_string()))?,
    );
    let out = a.out.clone();
    let mut save_error: Option<Error> = None;
    let mut saved_epochs = 0;
    let control = TrainControl::new();
    let mut sink = |ev: TrainEvent, model: &Model| match ev {
        TrainEvent::Started(info) => {
            bar.set_length(info.steps_per_epoch as u64);
            println!(
                "train: {} samples, held out: {}, {} steps per epoch",
                info.n_train, info.n_test, info.steps_per_epoch
            );
        }
        TrainEvent::Step(s) => {
            bar.set_prefix(format!("{}/{}", s.epoch, cfg.epochs));
            bar.set_position(s.step as u64);
            bar.set_message(format!(
                "loss {:.2} (recon {:.2}, KL {:.2}) {:.0} samples/s",
                s.loss, s.recon, s.kl, s.samples_per_sec
            ));
        }
        TrainEvent::Epoch(e) => {
            bar.suspend(|| {
                let test = e
                    .test_loss
                    .map(|t| format!("{t:.2}"))
                    .unwrap_or_else(|| "-".into());
                println!(
                    "epoch {}/{}: train loss {:.2}, held-out loss {} per sample, {:.0} samples/s, {:.1} s",
                    e.epoch, cfg.epochs, e.train_loss, test, e.samples_per_sec, e.epoch_secs
                );
            });
            bar.reset();
            // Saved after every epoch, so a crash or a divergence later keeps this one.
            match model.save(&out) {
                Ok(()) => saved_epochs = e.epoch,
                Err(err) => {
                    control.stop();
                    save_error = Some(err);
                }
            }
        }
        _ => {}
    };
    let result = train(&mut model, &data, &cfg, &control, &mut sink);
    bar.finish_and_clear();
    if let Some(e) = save_error {
        return Err(e);
    }
    if result.is_err() && saved_epochs > 0 {
        eprintln!(
            "the model after epoch {saved_epochs} is saved in {}",
            out.display()
        );
    }
    result?;
    // Also covers zero epochs (a fresh or copied model saved as is).
    model.save(&out)?;
    println!("saved {}", out.display());
    Ok(())
}

fn split_indices(data: &Dataset, split: SplitArg) -> Vec<usize> {
    match split {
        SplitArg::All => (0..data.len()).collect(),
        SplitArg::Train => data.indices(Split::Train),
        SplitArg::Test => data.indices(Split::Test),
    }
}

fn encode_cmd(a: EncodeArgs) -> Result<()> {
    use latent_explorer::latent::{CodesFormat, numpy_files};
    check_out_dir(&a.out)?;
    let data = load_data(&a.data)?;
    let model_path = model_or_default(a.model.clone())?;
    check_not_input(&a.out, Some(&data), Some(&model_path))?;
    let model = load_model(&a.model)?;
    let indices = split_indices(&data, a.split);
    let codes = model.encode(&data, &indices)?;
    let l = model.latent();
    if CodesFormat::of(&a.out) != CodesFormat::Csv {
        let labels: Option<Vec<i64>> = data
            .labels()
            .map(|all| indices.iter().map(|&i| all[i] as i64).collect());
        let files = numpy_files(&a.out, &codes, &indices, labels.as_deref())?;
        for (path, _) in &files {
            check_not_input(path, Some(&data), Some(&model_path))?;
        }
        // Both written in full before either is renamed into place: a failure leaves neither.
        latent_explorer::atomic::write_all_atomically(&files)?;
        let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
        println!(
            "wrote {} codes of {} dims to {}",
            indices.len(),
            l,
            names.join(" and ")
        );
        return Ok(());
    }
    let mut csv = String::with_capacity(indices.len() * (24 + 24 * l));
    csv.push_str("index,split,label,class");
    for k in 0..l {
        let _ = write!(csv, ",mean_{k}");
    }
    for k in 0..l {
        let _ = write!(csv, ",logvar_{k}");
    }
    csv.push('\n');
    for (row, &i) in indices.iter().enumerate() {
        let label = data.label(i).map(|v| v.to_string()).unwrap_or_default();
        let class = field(data.class_name(i).unwrap_or(""));
        let _ = write!(csv, "{i},{},{label},{class}", data.split_of(i).as_str());
        for v in &codes.mean[row * l..(row + 1) * l] {
            let _ = write!(csv, ",{v}");
        }
        for v in &codes.logvar[row * l..(row + 1) * l] {
            let _ = write!(csv, ",{v}");
        }
        csv.push('\n');
    }
    write_atomically(&a.out, csv.as_bytes())?;
    println!(
        "wrote {} codes of {} dims to {}",
        indices.len(),
        l,
        a.out.display()
    );
    Ok(())
}

/// The indices asked for, or else the first `n` held-out samples (the first `n` of all when the
/// dataset has no held-out split).
fn chosen_or_first_held_out(data: &Dataset, asked: &[usize], n: usize) -> Vec<usize> {
    if !asked.is_empty() {
        return asked.to_vec();
    }
    let test = data.indices(Split::Test);
    let pool = if test.is_empty() {
        (0..data.len()).collect()
    } else {
        test
    };
    pool.into_iter().take(n).collect()
}

fn check_scale(scale: u32) -> Result<()> {
    if !(1..=64).contains(&scale) {
        return Err(Error::InvalidArgument(format!(
            "--scale must be 1..=64, got {scale}"
        )));
    }
    Ok(())
}

fn sample_cmd(a: SampleArgs) -> Result<()> {
    check_scale(a.scale)?;
    if !(1..=4096).contains(&a.count) {
        return Err(Error::InvalidArgument(format!(
            "--count must be 1..=4096, got {}",
            a.count
        )));
    }
    if !(a.temperature.is_finite() && a.temperature >= 0.0) {
        return Err(Error::InvalidArgument(format!(
            "--temperature must be >= 0, got {}",
            a.temperature
        )));
    }
    if a.from == SampleFrom::Prior && (a.components.is_some() || a.data.data.is_some()) {
        return Err(Error::InvalidArgument(
            "--components and --data are for --from mixture (the prior needs no data)".into(),
        ));
    }
    check_out_dir(&a.out)?;
    if let Some(m) = &a.model {
        check_not_input(&a.out, None, Some(m))?;
    }
    let model = load_model(&a.model)?;
    let classes = sample_classes(&model, a.class)?;
    let z = match a.from {
        SampleFrom::Prior => sample_prior(a.count, model.latent(), a.temperature, a.seed),
        SampleFrom::Mixture => {
            let data = load_data(&a.data)?;
            check_not_input(&a.out, Some(&data), None)?;
            let mixture = fit_codes_mixture(&model, &data, a.split, &a)?;
            mixture.sample(a.count, a.temperature, a.seed)
        }
    };
    let images = model.decode_as(&z, classes)?;
    let cols = a.columns.unwrap_or_else(|| grid_columns(a.count));
    let picture = grid(&images, model.config().input, cols, a.scale)?;
    save_png(&picture, &a.out)?;
    println!("wrote {} samples to {}", a.count, a.out.display());
    Ok(())
}

/// The class `sample` draws: --class for a conditional model (which needs one), nothing for
/// an unconditional one (which refuses --class).
fn sample_classes(model: &Model, class: Option<u16>) -> Result<Classes<'static>> {
    let name = || {
        model
            .source
            .as_ref()
            .map_or("the bundled model".into(), |p| p.display().to_string())
    };
    match (model.classes(), class) {
        (None, None) => Ok(Classes::None),
        (None, Some(_)) => Err(Error::InvalidArgument(format!(
            "--class is for conditional models; {} is not conditional",
            name()
        ))),
        (Some(count), None) => Err(Error::InvalidArgument(format!(
            "{} is conditional on {count} classes: give the class to draw with --class K \
             (0..{count})",
            name()
        ))),
        (Some(count), Some(k)) if k as usize >= count => Err(Error::InvalidArgument(format!(
            "--class {k} is out of range: {} is conditional on classes 0..{count}",
            name()
        ))),
        (Some(_), Some(k)) => Ok(Classes::All(k)),
    }
}

/// The codes (posterior means) of `split` of `data`, or of all samples when it is empty.
fn split_codes(model: &Model, data: &Dataset, split: SplitArg) -> Result<(Vec<usize>, Vec<f32>)> {
    model.check_fits(data)?;
    let mut indices = split_indices(data, split);
    if indices.is_empty() {
        indices = (0..data.len()).collect();
    }
    let codes = model.encode(data, &indices)?;
    Ok((indices, codes.mean))
}

/// The mixture `sample --from mixture` draws from, with what was fitted printed.
fn fit_codes_mixture(
    model: &Model,
    data: &Dataset,
    split: SplitArg,
    a: &SampleArgs,
) -> Result<latent_explorer::analysis::GaussianMixture> {
    use latent_explorer::analysis::{
        Components, DEFAULT_BIC_MAX, MixtureOptions, fit_mixture_components,
    };
    let (indices, codes) = split_codes(model, data, split)?;
    let components = a.components.unwrap_or(Components::Bic {
        max: DEFAULT_BIC_MAX,
    });
    let started = std::time::Instant::now();
    let options = MixtureOptions {
        covariance: a.covariance,
        seed: a.seed,
        ..Default::default()
    };
    let fit = fit_mixture_components(&codes, model.latent(), components, &options)?;
    let m = &fit.mixture;
    if let Some((lowest, _)) = fit.bic.iter().min_by(|x, y| x.1.total_cmp(&y.1)) {
        println!(
            "bic: {} components of 1..={} have the lowest BIC (on {} codes)",
            lowest,
            fit.bic.len(),
            indices.len().min(latent_explorer::analysis::BIC_SAMPLE)
        );
    }
    println!(
        "mixture: {} components ({} covariance) fitted to {} codes in {:.2} s, {} EM rounds{}, {:.3} nats per code",
        m.k(),
        m.covariance_kind(),
        indices.len(),
        started.elapsed().as_secs_f64(),
        m.iterations,
        if m.converged { "" } else { " (not converged)" },
        m.log_likelihood
    );
    Ok(fit.mixture)
}

fn cluster_cmd(a: ClusterArgs) -> Result<()> {
    use latent_explorer::analysis::{
        MixtureOptions, check_clusters, fit_mixture, kmeans, overall_purity, summarize_clusters,
    };
    check_clusters(a.k)?;
    if let Some(out) = &a.out {
        check_out_dir(out)?;
    }
    let data = load_data(&a.data)?;
    let model_path = model_or_default(a.model.clone())?;
    if let Some(out) = &a.out {
        check_not_input(out, Some(&data), Some(&model_path))?;
    }
    let model = Model::load(&model_path)?;
    let (indices, codes) = split_codes(&model, &data, a.split)?;
    let dims = model.latent();
    let started = std::time::Instant::now();
    let (assignments, what) = match a.method {
        ClusterMethod::Kmeans => {
            let km = kmeans(&codes, dims, a.k, a.seed)?;
            (km.assignments, format!("k-means, {} rounds", km.iterations))
        }
        ClusterMethod::Mixture => {
            let options = MixtureOptions {
                seed: a.seed,
                ..Default::default()
            };
            let m = fit_mixture(&codes, dims, a.k, &options)?;
            (
                m.predict(&codes),
                format!("Gaussian mixture, {} EM rounds", m.iterations),
            )
        }
    };
    let secs = started.elapsed().as_secs_f64();
    let labels: Option<Vec<u16>> = data.labels().map(|_| {
        indices
            .iter()
            .map(|&i| data.label(i).unwrap_or(0))
            .collect()
    });
    let summaries = summarize_clusters(&codes, dims, &assignments, a.k, labels.as_deref(), a.seed);
    println!(
        "cluster: {} codes of {} into {} clusters ({what}) in {secs:.2} s",
        indices.len(),
        data.name,
        a.k
    );
    println!("cluster,size,majority_label,purity,medoid_index");
    for (c, s) in summaries.iter().enumerate() {
        let label = s
            .majority_label
            .map(|l| {
                data.class_names()
                    .get(l as usize)
                    .cloned()
                    .unwrap_or_else(|| l.to_string())
            })
            .unwrap_or_else(|| "-".into());
        let medoid = s
            .medoid
            .map(|m| indices[m].to_string())
            .unwrap_or_else(|| "-".into());
        println!("{c},{},{label},{:.3},{medoid}", s.size, s.purity);
    }
    if let Some(labels) = &labels {
        let mut counts = std::collections::HashMap::<u16, usize>::new();
        labels
            .iter()
            .for_each(|&l| *counts.entry(l).or_default() += 1);
        let largest = counts.values().copied().max().unwrap_or(0);
        println!(
            "purity: {:.3} (chance, every code given the commonest label: {:.3})",
            overall_purity(&summaries),
            largest as f64 / labels.len().max(1) as f64
        );
    } else {
        println!("purity: - ({} has no labels)", data.name);
    }
    if let Some(out) = &a.out {
        let mut csv = String::from("index,label,cluster\n");
        for (k, &i) in indices.iter().enumerate() {
            let label = data.label(i).map(|v| v.to_string()).unwrap_or_default();
            let _ = writeln!(csv, "{i},{label},{}", assignments[k]);
        }
        write_atomically(out, csv.as_bytes())?;
        println!("wrote {} rows to {}", indices.len(), out.display());
    }
    Ok(())
}

fn interpolate_cmd(a: InterpolateArgs) -> Result<()> {
    check_scale(a.scale)?;
    if !(2..=256).contains(&a.steps) {
        return Err(Error::InvalidArgument(format!(
            "--steps must be 2..=256, got {}",
            a.steps
        )));
    }
    let data = load_data(&a.data)?;
    let model = load_model(&a.model)?;
    let mut anchors_idx = vec![a.from];
    anchors_idx.extend(&a.via);
    anchors_idx.push(a.to);
    for &i in &anchors_idx {
        check_index(&data, i)?;
    }
    // Every frame is decoded and drawn: anchors x steps must fit before any of it is done.
    let frames = (anchors_idx.len() as u64).saturating_mul(a.steps as u64);
    latent_explorer::budget::Budget::current().check_frames(
        frames,
        model.config().input,
        model.latent(),
    )?;
    check_not_input(&a.out, Some(&data), a.model.as_deref())?;
    let codes = model.encode(&data, &anchors_idx)?;
    let anchors: Vec<Vec<f32>> = (0..anchors_idx.len())
        .map(|k| codes.mean_of(k).to_vec())
        .collect();
    let kind = if a.slerp {
        InterpolationKind::Spherical
    } else {
        InterpolationKind::Linear
    };
    let path: Vec<f32> = interpolate_path(&anchors, a.steps, kind).concat();
    // A conditional model's condition moves with the code: the anchors' one-hot labels,
    // blended linearly along the same steps.
    let weights: Vec<f32> = match (model.labels_of(&data, &anchors_idx)?, model.classes()) {
        (Some(labels), Some(count)) => {
            let hot: Vec<Vec<f32>> = labels
                .iter()
                .map(|&c| latent_explorer::model::one_hot_values(&[c], count))
                .collect();
            interpolate_path(&hot, a.steps, InterpolationKind::Linear).concat()
        }
        _ => Vec::new(),
    };
    let classes = match model.classes() {
        Some(_) => Classes::Weights(&weights),
        None => Classes::None,
    };
    let images = model.decode_as(&path, classes)?;
    save_png(&strip(&images, model.config().input, a.scale)?, &a.out)?;
    println!(
        "wrote {} frames ({:?}) from sample {} to {} to {}",
        path.len() / model.latent(),
        kind,
        a.from,
        a.to,
        a.out.display()
    );
    Ok(())
}

fn reconstruct_cmd(a: ReconstructArgs) -> Result<()> {
    check_scale(a.scale)?;
    let data = load_data(&a.data)?;
    check_not_input(&a.out, Some(&data), a.model.as_deref())?;
    let model = load_model(&a.model)?;
    let indices = chosen_or_first_held_out(&data, &a.indices, a.count.clamp(1, 1024));
    for &i in &indices {
        check_index(&data, i)?;
    }
    let recon = model.reconstruct(&data, &indices)?;
    let mut values: Vec<f32> = indices.iter().flat_map(|&i| data.image(i)).collect();
    values.extend(&recon);
    let picture = grid(&values, data.shape, indices.len(), a.scale)?;
    save_png(&picture, &a.out)?;
    let scores = model.score(&data, &indices, 0)?;
    let mean_recon = scores.recon.iter().sum::<f32>() / indices.len() as f32;
    println!(
        "wrote {} originals (top row) and reconstructions (bottom row) to {}; mean reconstruction error {:.2}",
        indices.len(),
        a.out.display(),
        mean_recon
    );
    Ok(())
}

fn anomalies_cmd(a: AnomaliesArgs) -> Result<()> {
    use latent_explorer::analysis::{AnomalyScore, check_iw_samples, score_anomalies};
    check_scale(a.scale)?;
    let with_iw = a.score == AnomalyScore::NegativeIwBound;
    if with_iw {
        check_iw_samples(a.iw_samples).map_err(iw_flag_error)?;
    }
    check_out_dir(&a.out)?;
    let grid_path = a
        .grid
        .clone()
        .unwrap_or_else(|| a.out.with_extension("png"));
    // The scores are a CSV; the top samples a PNG: one file cannot be both.
    let ext = a
        .out
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if ext != "csv" || resolved(&a.out) == resolved(&grid_path) {
        return Err(Error::InvalidArgument(format!(
            "--out {} is the CSV of scores and needs a .csv name; the picture of the top samples goes to --grid (default: the CSV's name with .png)",
            a.out.display()
        )));
    }
    check_out_dir(&grid_path)?;
    let data = load_data(&a.data)?;
    check_not_input(&a.out, Some(&data), a.model.as_deref())?;
    check_not_input(&grid_path, Some(&data), a.model.as_deref())?;
    let model = load_model(&a.model)?;
    let mut indices = split_indices(&data, a.split);
    if indices.is_empty() {
        // A dataset without a held-out split: score all of it.
        indices = (0..data.len()).collect();
    }
    let mut scores = score_anomalies(&model, &data, &indices, a.draws, a.seed)?;
    if with_iw {
        let estimate = iw_with_progress(&model, &data, &indices, a.iw_samples, a.seed, false)?;
        scores = scores.with_iw_bound(&estimate)?;
    }
    let ranked = scores.ranked(a.score);
    let mut csv = String::from("rank,index,split,label,class,score,recon,kl\n");
    for (rank, &k) in ranked.iter().enumerate() {
        let i = scores.indices[k];
        let label = data.label(i).map(|v| v.to_string()).unwrap_or_default();
        let class = field(data.class_name(i).unwrap_or(""));
        let _ = writeln!(
            csv,
            "{},{i},{},{label},{class},{},{},{}",
            rank + 1,
            data.split_of(i).as_str(),
            scores.value(k, a.score),
            scores.recon[k],
            scores.kl[k]
        );
    }
    let top: Vec<usize> = ranked
        .iter()
        .take(a.top.clamp(1, 1024))
        .map(|&k| scores.indices[k])
        .collect();
    let values: Vec<f32> = top.iter().flat_map(|&i| data.image(i)).collect();
    // The picture is made before either file is written, so a picture that cannot be made
    // leaves no CSV behind.
    let picture = grid(&values, data.shape, grid_columns(top.len()), a.scale)?;
    write_atomically(&a.out, csv.as_bytes())?;
    save_png(&picture, &grid_path)?;
    let worst = ranked
        .first()
        .map(|&k| scores.value(k, a.score))
        .unwrap_or(0.0);
    println!(
        "scored {} samples by {}; the most anomalous ({}) scores {:.2}; wrote {} and {}",
        scores.len(),
        a.score.label(),
        top.first().copied().unwrap_or(0),
        worst,
        a.out.display(),
        grid_path.display()
    );
    Ok(())
}

/// A refused --iw-samples, named as the flag.
fn iw_flag_error(e: Error) -> Error {
    match e {
        Error::InvalidArgument(_) => Error::InvalidArgument(format!(
            "--iw-samples must be from {} to {}",
            latent_explorer::analysis::MIN_IW_SAMPLES,
            latent_explorer::analysis::MAX_IW_SAMPLES
        )),
        other => other,
    }
}

/// The IW bound of `indices` with a progress bar (hidden when `quiet` or not a terminal).
fn iw_with_progress(
    model: &Model,
    data: &Dataset,
    indices: &[usize],
    k: usize,
    seed: u64,
    quiet: bool,
) -> Result<latent_explorer::analysis::LikelihoodEstimate> {
    use latent_explorer::analysis::importance_weighted_bound;
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(indices.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} samples [{elapsed_precise} < {eta}]")
            .map_err(|e| Error::InvalidArgument(e.to_string()))?,
    );
    let n = indices.len() as f64;
    let progress = |f: f64| bar.set_position((f * n).round() as u64);
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let estimate = importance_weighted_bound(model, data, indices, k, seed, &progress, &cancel)?;
    bar.finish_and_clear();
    estimate.ok_or_else(|| Error::InvalidArgument("evaluation cancelled".into()))
}

fn evaluate_cmd(a: EvaluateArgs) -> Result<()> {
    use latent_explorer::analysis::{LikelihoodEstimate, check_iw_samples};
    check_iw_samples(a.iw_samples).map_err(iw_flag_error)?;
    if a.limit == Some(0) {
        return Err(Error::InvalidArgument("--limit must be at least 1".into()));
    }
    if let Some(out) = &a.out {
        check_out_dir(out)?;
    }
    let data = load_data(&a.data)?;
    let model_path = model_or_default(a.model.clone())?;
    if let Some(out) = &a.out {
        check_not_input(out, Some(&data), Some(&model_path))?;
    }
    let model = Model::load(&model_path)?;
    model.check_fits(&data)?;
    let mut indices = split_indices(&data, a.split);
    let mut split_name = match a.split {
        SplitArg::All => "all",
        SplitArg::Train => "train",
        SplitArg::Test => "test",
    };
    if indices.is_empty() {
        println!(
            "note: {} has no {split_name} split; evaluating all {} samples",
            data.name,
            data.len()
        );
        indices = (0..data.len()).collect();
        split_name = "all";
    }
    if let Some(limit) = a.limit {
        indices.truncate(limit);
    }
    println!(
        "evaluate: {} ({}), {} {split_name} samples, k = {} (draws from q(z|x) per sample), seed {}",
        model_path.display(),
        model.config().likelihood,
        indices.len(),
        a.iw_samples,
        a.seed
    );
    let started = std::time::Instant::now();
    let est = iw_with_progress(&model, &data, &indices, a.iw_samples, a.seed, a.data.quiet)?;
    let secs = started.elapsed().as_secs_f64();
    let se = LikelihoodEstimate::standard_error;
    let gaps: Vec<f64> = (0..est.len()).map(|i| est.gap(i)).collect();
    println!(
        "ELBO:     {:.3} nats per sample (+- {:.3} standard error; negative ELBO {:.3})",
        est.mean_elbo(),
        se(&est.elbo),
        -est.mean_elbo()
    );
    println!(
        "IW bound: {:.3} nats per sample (+- {:.3}; k = {}; negative log-likelihood at most {:.3})",
        est.mean_iw_bound(),
        se(&est.iw_bound),
        est.samples,
        -est.mean_iw_bound()
    );
    println!(
        "gap:      {:.3} nats per sample (IW bound minus ELBO, +- {:.3})",
        est.mean_gap(),
        se(&gaps)
    );
    if est.recon_constant != 0.0 {
        println!(
            "note: Gaussian likelihood: {:.3} nats per sample (D/2 ln pi) added to the training loss's squared error",
            est.recon_constant
        );
    }
    println!(
        "time:     {secs:.2} s ({:.0} samples/s, {} decodes)",
        est.len() as f64 / secs.max(1e-9),
        est.len() * est.samples
    );
    if let Some(out) = &a.out {
        let mut csv = String::from("index,label,elbo,iw_bound\n");
        for (k, &i) in est.indices.iter().enumerate() {
            let label = data.label(i).map(|v| v.to_string()).unwrap_or_default();
            let _ = writeln!(csv, "{i},{label},{:.6},{:.6}", est.elbo[k], est.iw_bound[k]);
        }
        write_atomically(out, csv.as_bytes())?;
        println!("wrote {} rows to {}", est.len(), out.display());
    }
    Ok(())
}

fn inpaint_cmd(a: InpaintArgs) -> Result<()> {
    use latent_explorer::analysis::{inpaint, make_mask};
    check_scale(a.scale)?;
    check_out_dir(&a.out)?;
    let data = load_data(&a.data)?;
    check_not_input(&a.out, Some(&data), a.model.as_deref())?;
    let model = load_model(&a.model)?;
    model.check_fits(&data)?;
    let indices = chosen_or_first_held_out(&data, &a.indices, 8);
    for &i in &indices {
        check_index(&data, i)?;
    }
    let mask = make_mask(a.hide, data.shape);
    let mean = data.train_mean_image().to_vec();
    let (mut err_fill, mut err_mean, mut hidden) = (0f64, 0f64, 0usize);
    let mut tiles = Vec::new();
    for &i in &indices {
        let image = data.image(i);
        let filled = inpaint(&model, &image, &mask, &mean, a.iterations, data.label(i))?;
        for ((&o, (&v, &f)), &m) in mask
            .iter()
            .zip(image.iter().zip(&filled.completion))
            .zip(&mean)
        {
            if !o {
                err_fill += ((v - f) as f64).abs();
                err_mean += ((v - m) as f64).abs();
                hidden += 1;
            }
        }
        let masked: Vec<f32> = image
            .iter()
            .zip(&mask)
            .map(|(&v, &o)| if o { v } else { 0.25 })
            .collect();
        tiles.extend(image);
        tiles.extend(masked);
        tiles.extend(filled.completion);
    }
    save_png(&grid(&tiles, data.shape, 3, a.scale)?, &a.out)?;
    let h = hidden.max(1) as f64;
    println!(
        "filled {} samples ({} hidden values each) in {} iterations; mean absolute error on the hidden pixels {:.4} (the mean image gives {:.4}); wrote {}",
        indices.len(),
        hidden / indices.len().max(1),
        a.iterations,
        err_fill / h,
        err_mean / h,
        a.out.display()
    );
    Ok(())
}

fn info_cmd(a: InfoArgs) -> Result<()> {
    let path = model_or_default(a.model.clone())?;
    let model = Model::load(&path)?;
    let loaded = a
        .data
        .as_ref()
        .map(|p| super::load::load_with_progress(p, &LoadOptions::default(), a.quiet))
        .transpose()?;
    let (data, speed) = match loaded {
        Some((d, speed)) => (Some(d), speed),
        None => (None, None),
    };
    if let (Some(d), false) = (&data, a.json) {
        print_report(d);
        if let Some(speed) = speed {
            println!("load: {speed}");
        }
    }
    let fits = data
        .as_ref()
        .map(|d| model.check_fits(d).map_err(|e| e.to_string()));
    // Where the bundled MNIST is (an installed binary writes it out on first use).
    let bundled_data = default_data_path().map_err(|e| e.to_string());
    if a.json {
        let v = serde_json::json!({
            "path": path,
            "config": model.config(),
            "parameters": model.config().parameter_count(),
            "history": model.history,
            "dataset": data.as_ref().map(|d| d.summary()),
            "load_report": data.as_ref().map(|d| d.report().lines()),
            "fits_dataset": fits.as_ref().map(|f| f.is_ok()),
            "device": latent_explorer::device::compute().description,
            "bundled_dataset": bundled_data.as_ref().ok(),
        });
        println!("{v}");
        return Ok(());
    }
    print_info(&path, &model);
    let device = latent_explorer::device::compute();
    match &device.fallback_reason {
        Some(why) => println!("device:       {} ({why})", device.description),
        None => println!("device:       {}", device.description),
    }
    match &bundled_data {
        Ok(p) => println!("bundled data: {}", p.display()),
        Err(e) => println!("bundled data: unavailable: {e}"),
    }
    if let (Some(d), Some(f)) = (&data, &fits) {
        println!("dataset:      {}", d.summary());
        match f {
            Ok(()) => println!("fits:         yes"),
            Err(e) => println!("fits:         no: {e}"),
        }
    }
    Ok(())
}

fn print_info(path: &Path, model: &Model) {
    let c = model.config();
    let h = &model.history;
    let opt = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into());
    println!("checkpoint:   {}", path.display());
    println!("architecture: {}", c.summary());
    println!("input:        {}", c.input);
    println!("latent dims:  {}", c.latent);
    println!("parameters:   {}", c.parameter_count());
    println!(
        "trained on:   {}",
        h.dataset_name.clone().unwrap_or_else(|| "-".into())
    );
    println!(
        "epochs:       {} ({} samples seen)",
        h.epochs, h.samples_seen
    );
    println!("train loss:   {} per sample", opt(h.train_loss));
    println!("held-out:     {} per sample", opt(h.test_loss));
    println!("created with: {}", h.created_with);
    if let Some(from) = &h.imported_from {
        println!(
            "imported:     from a {from}; config inferred from the weights' shapes (Bernoulli likelihood, beta 1)"
        );
    }
}
