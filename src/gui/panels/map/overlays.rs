//! What is drawn over the points, in map coordinates: the prior's sigma circles, the
//! selection's posterior ellipses, the interpolation path with its anchors, the fill-in path, the selection and the
//! probe. Gathered before the plot is shown so that drawing is a plain loop.

use crate::gui::map_view::MapState;
use crate::gui::state::Settings;

/// What other panels contribute to the map.
#[derive(Default)]
pub struct MapInputs<'a> {
    /// Interpolation anchors (dataset indices).
    pub anchors: &'a [usize],
    /// The interpolation's frame codes.
    pub strip: &'a [Vec<f32>],
    /// The fill-in's code after each round (shown on the Missing data tab).
    pub fill_path: &'a [Vec<f32>],
}

#[derive(Default)]
pub struct Overlays {
    pub prior_rings: Vec<Vec<[f64; 2]>>,
    pub selection_ellipses: Vec<Vec<[f64; 2]>>,
    pub strip_path: Vec<[f64; 2]>,
    pub fill_path: Vec<[f64; 2]>,
    pub anchors: Vec<[f64; 2]>,
    pub selection: Option<[f64; 2]>,
    pub probe: Option<[f64; 2]>,
}

impl Overlays {
    pub fn gather(
        map: &MapState,
        settings: &Settings,
        latent: usize,
        selection: Option<usize>,
        probe: &[f32],
        inputs: &MapInputs,
    ) -> Self {
        let project = |codes: &[Vec<f32>]| -> Vec<[f64; 2]> {
            codes
                .iter()
                .filter(|c| c.len() == latent)
                .map(|c| map.project(c, settings))
                .collect()
        };
        let prior_rings = if settings.show_prior {
            let centre = map.project(&vec![0.0; latent], settings);
            [1.0, 2.0, 3.0]
                .iter()
                .map(|r| {
                    (0..=64)
                        .map(|i| {
                            let t = i as f64 / 64.0 * std::f64::consts::TAU;
                            [centre[0] + r * t.cos(), centre[1] + r * t.sin()]
                        })
                        .collect()
                })
                .collect()
        } else {
            Vec::new()
        };
        let selection_ellipses = selection
            .and_then(|i| map.position_of(i))
            .map(|k| {
                vec![
                    map.posterior_ellipse(k, settings, 1.0),
                    map.posterior_ellipse(k, settings, 2.0),
                ]
            })
            .unwrap_or_default();
        Self {
            prior_rings,
            selection_ellipses,
            strip_path: project(inputs.strip),
            fill_path: project(inputs.fill_path),
            anchors: inputs
                .anchors
                .iter()
                .filter_map(|&i| map.coord_of(i))
                .collect(),
            selection: selection.and_then(|i| map.coord_of(i)),
            probe: (probe.len() == latent && latent > 0).then(|| map.project(probe, settings)),
        }
    }
}
