//! Figures for papers: `traverse` (a latent traversal grid and its GIF) and `analogy` (an
//! attribute vector between two groups, its quality, and the vector added to samples).

use super::*;
use latent_explorer::latent::{DimSelection, TraversalRange, TraversalSpec, traverse};

pub(super) fn traverse_cmd(a: TraverseArgs) -> Result<()> {
    check_scale(a.scale)?;
    let steps_max = latent_explorer::latent::MAX_STEPS;
    if !(2..=steps_max).contains(&a.steps) {
        return Err(Error::InvalidArgument(format!(
            "--steps must be 2..={steps_max}, got {}",
            a.steps
        )));
    }
    let sigmas = a.sigmas.unwrap_or(a.range.default_sigmas());
    if !(sigmas.is_finite() && sigmas > 0.0 && sigmas <= 10.0) {
        return Err(Error::InvalidArgument(format!(
            "--sigmas must be above 0 and at most 10, got {sigmas}"
        )));
    }
    if a.sigmas.is_some() && a.range == TraversalRange::MinMax {
        return Err(Error::InvalidArgument(
            "--sigmas has no meaning with --range minmax (it runs from the smallest code to the largest)".into(),
        ));
    }
    if !(20..=10_000).contains(&a.frame_ms) {
        return Err(Error::InvalidArgument(format!(
            "--frame-ms must be 20..=10000, got {}",
            a.frame_ms
        )));
    }
    check_out_dir(&a.out)?;
    if let Some(gif) = &a.gif {
        check_out_dir(gif)?;
        if resolved(gif) == resolved(&a.out) {
            return Err(Error::InvalidArgument(format!(
                "--gif and --out are both {}; give them different files",
                gif.display()
            )));
        }
    }
    let model = load_model(&a.model)?;
    // A wrong dimension is refused before any dataset is read and encoded.
    if let DimSelection::List(list) = &a.dims {
        latent_explorer::latent::plan_traversal(
            &TraversalSpec {
                dims: DimSelection::List(list.clone()),
                order_by_kl: false,
                ..Default::default()
            },
            model.latent(),
            None,
        )?;
    }
    let mut spec = TraversalSpec {
        range: a.range,
        sigmas,
        steps: a.steps,
        dims: a.dims.clone(),
        principal: a.pca,
        order_by_kl: !a.no_kl_order,
        start: None,
    };
    let needs_data = spec.needs_codes() || a.from_sample.is_some();
    let data = if needs_data {
        Some(load_data(&a.data)?)
    } else {
        None
    };
    for out in std::iter::once(&a.out).chain(&a.gif) {
        check_not_input(out, data.as_ref(), a.model.as_deref())?;
    }
    let codes = match &data {
        Some(data) => {
            model.check_fits(data)?;
            if let Some(i) = a.from_sample {
                check_index(data, i)?;
            }
            let all: Vec<usize> = (0..data.len()).collect();
            let codes = model.encode(data, &all)?;
            if let Some(i) = a.from_sample {
                spec.start = Some(codes.mean_of(i).to_vec());
            }
            Some(codes)
        }
        None => None,
    };
    let grid = traverse(&model, &spec, codes.as_ref())?;
    grid.save_png(&a.out, a.scale)?;
    let rows = match (&spec.dims, spec.principal) {
        (DimSelection::Active, _) => "active ",
        _ => "",
    };
    let kind = if spec.principal {
        "principal directions"
    } else if spec.order_by_kl {
        "latent dimensions by KL"
    } else {
        "latent dimensions"
    };
    let from = match a.from_sample {
        Some(i) => format!("sample {i}"),
        None => "the prior's centre".into(),
    };
    println!(
        "wrote a traversal of {} {rows}{kind} x {} values ({} range) from {from} to {}",
        grid.rows(),
        grid.columns(),
        spec.range.name(),
        a.out.display()
    );
    if let Some(gif) = &a.gif {
        grid.save_gif(gif, a.scale, a.frame_ms)?;
        println!(
            "wrote {} frames to {}",
            grid.frame_order().len(),
            gif.display()
        );
    }
    Ok(())
}

/// The samples of a group: a class's (by name, else by number) or the listed ones.
fn group(
    data: &Dataset,
    class: &Option<String>,
    listed: &[usize],
    flag: &str,
) -> Result<(String, Vec<usize>)> {
    let Some(class) = class else {
        for &i in listed {
            check_index(data, i)?;
        }
        return Ok((format!("{} samples", listed.len()), listed.to_vec()));
    };
    let names = data.class_names();
    let number = names
        .iter()
        .position(|n| n == class)
        .or_else(|| class.parse::<usize>().ok().filter(|&k| k < names.len()))
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{flag} {class} is not a class of {} (classes: {})",
                data.name,
                if names.is_empty() {
                    "none, the dataset has no labels".to_string()
                } else {
                    names.join(", ")
                }
            ))
        })?;
    let members: Vec<usize> = (0..data.len())
        .filter(|&i| data.label(i) == Some(number as u16))
        .collect();
    Ok((names[number].clone(), members))
}

pub(super) fn analogy_cmd(a: AnalogyArgs) -> Result<()> {
    check_scale(a.scale)?;
    if !(2..=32).contains(&a.steps) {
        return Err(Error::InvalidArgument(format!(
            "--steps must be 2..=32, got {}",
            a.steps
        )));
    }
    if !(a.reach.is_finite() && a.reach > 0.0 && a.reach <= 10.0) {
        return Err(Error::InvalidArgument(format!(
            "--reach must be above 0 and at most 10, got {}",
            a.reach
        )));
    }
    check_out_dir(&a.out)?;
    let model = load_model(&a.model)?;
    let data = load_data(&a.data)?;
    check_not_input(&a.out, Some(&data), a.model.as_deref())?;
    model.check_fits(&data)?;
    let (plus_name, plus) = group(&data, &a.plus, &a.plus_samples, "--plus")?;
    let (minus_name, minus) = group(&data, &a.minus, &a.minus_samples, "--minus")?;
    for (name, g) in [(&plus_name, &plus), (&minus_name, &minus)] {
        if g.len() < 2 {
            return Err(Error::InvalidArgument(format!(
                "the group {name} has {} samples; a vector and its quality need at least 2",
                g.len()
            )));
        }
    }
    let samples: Vec<usize> = if a.samples.is_empty() {
        minus.iter().take(6).copied().collect()
    } else {
        a.samples.clone()
    };
    for &i in &samples {
        check_index(&data, i)?;
    }
    // One encode for everything: the plus group, the minus group, then the rows' samples.
    let all: Vec<usize> = plus.iter().chain(&minus).chain(&samples).copied().collect();
    let codes = model.encode(&data, &all)?;
    let plus_rows: Vec<usize> = (0..plus.len()).collect();
    let minus_rows: Vec<usize> = (plus.len()..plus.len() + minus.len()).collect();
    let vector = latent_explorer::latent::attribute_vector(&codes, &plus_rows, &minus_rows)?;
    let quality =
        latent_explorer::latent::attribute_quality(&codes, &plus_rows, &minus_rows, a.seed)?;
    let starts: Vec<(String, Vec<f32>)> = samples
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let row = plus.len() + minus.len() + k;
            (format!("#{i}"), codes.mean_of(row).to_vec())
        })
        .collect();
    let amounts = latent_explorer::latent::analogy_amounts(a.steps, a.reach, a.both_ways);
    let grid = latent_explorer::latent::analogy_grid(&model, &starts, &vector, &amounts)?;
    save_png(&grid.picture(a.scale)?, &a.out)?;
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    println!(
        "attribute {plus_name} minus {minus_name}: {} minus {} samples, length {norm:.3}",
        plus.len(),
        minus.len()
    );
    println!(
        "quality: consistency {:.3} ({:.0}% of {} held-out pairs point its way); chance {:.3}",
        quality.consistency,
        quality.agreeing * 100.0,
        quality.pairs,
        quality.chance
    );
    println!(
        "wrote an analogy grid of {} samples x {} amounts to {}",
        grid.rows(),
        grid.columns(),
        a.out.display()
    );
    Ok(())
}
