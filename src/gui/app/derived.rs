//! Keeping what derives from the workspace up to date, once per frame before layout: the
//! panels' state is dropped in one place ([`Panels::sync`]) when the dataset or model changes,
//! and asked for again here (preview, neighbours, the selection's pictures, scores, the
//! decoded background, strips and grids after new weights). Also the analyses run from
//! commands: attribute vectors, the training timeline, filling in missing pixels, and the
//! recovery file.

use super::ExplorerApp;
use super::events::MANIFOLD_TILES;
use crate::gui::panels::Panels;
use crate::gui::state::{BottomTab, ColorBy};
use crate::gui::worker::{DecodePurpose, Job, Stamp};
use crate::latent::sample_prior;
use std::time::{Duration, Instant};

/// How many samples of the selection's posterior are decoded.
pub const SPREAD_SAMPLES: usize = 8;
/// How many nearest samples the decoder panel shows.
pub const NEIGHBOURS: usize = 8;
/// While training, scores are refreshed at most this often (scoring competes for the cores).
const RESCORE_WHILE_TRAINING: Duration = Duration::from_secs(3);

impl ExplorerApp {
    pub(super) fn sync_derived(&mut self) {
        let had_grid = !self.panels.generate.codes.is_empty();
        let changed = Panels::sync(&mut self.panels, self.ws.generation());
        if changed.data || changed.model {
            // A threshold is a score of one model on one dataset: it means nothing for another.
            self.settings.anomaly_threshold = None;
        }
        if changed.model && had_grid {
            // Another model: draw its own prior samples (its latent size may differ).
            self.rebuild_grid(true);
        } else if changed.weights {
            // The same codes decode to new pictures.
            if !self.panels.generate.codes.is_empty() {
                self.rebuild_grid(false);
            }
        }
        if changed.weights {
            self.panels.decoder.preview.invalidate();
            self.panels.map.manifold_asked = None;
            self.panels.decoder.selection.made_for = None;
        }
        if !self.startup.done
            && self.ws.data.is_some()
            && self.ws.model.is_some()
            && !self.is_loading()
        {
            self.startup.done = true;
        }
        self.sync_layout_run();
        if self.ws.map.projection_stale(&self.settings) {
            let settings = self.settings.clone();
            self.ws.map.reproject(&settings);
        }
        self.refresh_preview();
        self.refresh_class_views();
        self.refresh_neighbours();
        self.refresh_selection();
        self.request_thumbnail_reconstructions();
        self.refresh_traversal();
        self.request_analogy();
        self.request_scores_if_needed();
        self.request_iw_scores();
        self.keep_unsaved_model();
    }

    /// Decodes the probe for the preview when it changed (one sample: within the frame).
    fn refresh_preview(&mut self) {
        let Some(model) = self.ws.model.clone() else {
            return;
        };
        let probe = &self.ws.probe;
        if !self.ws.fits_code(probe) {
            return;
        }
        // A conditional model's preview is of the probe as the picked class: the key holds both.
        let condition = self.ws.condition();
        let mut key = probe.clone();
        if let crate::model::Condition::Class(c) = condition {
            key.push(c as f32);
        }
        if self.panels.decoder.preview.is_current_for(&key) {
            return;
        }
        match model.decode_as(probe, condition.classes()) {
            Ok(img) => self
                .panels
                .decoder
                .preview
                .set_single(img, model.config().input, &key),
            Err(e) => {
                // Remember the code anyway, so a failing decode is not retried every frame.
                self.panels.decoder.preview.set_single(
                    vec![0.0; model.config().input.len()],
                    model.config().input,
                    &key,
                );
                self.error(format!("could not decode: {e}"));
            }
        }
    }

    /// A conditional model's probe drawn as every class, and from one class to another, on
    /// the worker: asked for when the probe, the class pair or the weights change.
    fn refresh_class_views(&mut self) {
        use crate::gui::panels::conditional::{ClassViews, STRIP_STEPS};
        use crate::model::Condition;
        let (Some(model), Some(classes)) = (self.ws.model.clone(), self.ws.model_classes()) else {
            return;
        };
        let probe = &self.ws.probe;
        if !self.ws.fits_code(probe) {
            return;
        }
        let generation = self.ws.generation();
        let views = &mut self.panels.decoder.classes;
        let row_key = (probe.clone(), (0, 0), generation);
        if views.row_asked.as_ref() != Some(&row_key) {
            let shown = ClassViews::row_len(classes);
            views.row_asked = Some(row_key);
            views.row_serial += 1;
            self.jobs.submit(Job::Decode {
                purpose: DecodePurpose::ClassRow,
                stamp: Stamp {
                    generation,
                    serial: views.row_serial,
                },
                model: model.clone(),
                codes: probe.repeat(shown),
                condition: Condition::Each((0..shown as u16).collect()),
            });
        }
        let (from, to) = (
            views.from.min(classes as u16 - 1),
            views.to.min(classes as u16 - 1),
        );
        let strip_key = (probe.clone(), (from, to), generation);
        if views.strip_asked.as_ref() != Some(&strip_key) {
            views.strip_asked = Some(strip_key);
            views.strip_serial += 1;
            self.jobs.submit(Job::Decode {
                purpose: DecodePurpose::ClassStrip,
                stamp: Stamp {
                    generation,
                    serial: views.strip_serial,
                },
                model,
                codes: probe.repeat(STRIP_STEPS),
                condition: Condition::Weights(ClassViews::strip_weights(from, to, classes)),
            });
        }
    }

    /// The nearest samples to the probe (a scan of the map's codes: 70k x latent, about a
    /// millisecond), recomputed when the probe or the codes change.
    fn refresh_neighbours(&mut self) {
        let ws = &self.ws;
        let (Some(data), Some(codes)) = (&ws.data, &ws.map.codes) else {
            return;
        };
        let key = (ws.probe.clone(), ws.map.codes_version);
        let d = &mut self.panels.decoder;
        if d.neighbours_for.as_ref() == Some(&key) {
            return;
        }
        let nearest = ws.map.nearest_codes(&ws.probe, NEIGHBOURS);
        d.neighbours = nearest
            .into_iter()
            .filter(|&i| i < data.len())
            .map(|i| {
                let dist = ws
                    .map
                    .position_of(i)
                    .map(|k| {
                        codes
                            .mean_of(k)
                            .iter()
                            .zip(&ws.probe)
                            .map(|(a, b)| (a - b) * (a - b))
                            .sum::<f32>()
                            .sqrt()
                    })
                    .unwrap_or(f32::NAN);
                (i, dist)
            })
            .collect();
        d.neighbours_for = Some(key);
        let values: Vec<f32> = d
            .neighbours
            .iter()
            .flat_map(|&(i, _)| data.image(i))
            .collect();
        if values.is_empty() {
            d.neighbour_images = Default::default();
        } else {
            d.neighbour_images.set_grid(values, data.shape, NEIGHBOURS);
        }
    }

    /// The selected sample's original, reconstruction and scores (one sample: tens of
    /// microseconds here), and eight draws from its posterior decoded on the worker; redone
    /// when the selection or the codes change.
    fn refresh_selection(&mut self) {
        let ws = &self.ws;
        let (Some(i), Some(model), Some(data)) = (ws.selection, &ws.model, &ws.data) else {
            return;
        };
        let key = (i, ws.map.codes_version);
        if self.panels.decoder.selection.made_for == Some(key) || i >= data.len() {
            return;
        }
        let Some(code) = ws.code_of(i) else {
            return;
        };
        let mut values = data.image(i);
        let own_class = ws.condition_of_sample(i);
        if let Ok(recon) = model.decode_as(&code, own_class.classes()) {
            values.extend(recon);
        }
        let scores = model
            .score(data, &[i], 0)
            .ok()
            .map(|s| (s.recon[0], s.kl[0]));
        let n = values.len() / data.shape.len().max(1);
        let sel = &mut self.panels.decoder.selection;
        sel.made_for = Some(key);
        sel.scores = scores;
        sel.images.set_grid(values, data.shape, n);
        // Eight draws from q(z|x), decoded on the worker.
        if let (Some(k), Some(codes)) = (ws.map.position_of(i), &ws.map.codes) {
            let l = codes.latent;
            let (mean, logvar) = (codes.mean_of(k), &codes.logvar[k * l..(k + 1) * l]);
            let noise = sample_prior(SPREAD_SAMPLES, l, 1.0, i as u64);
            let z: Vec<f32> = noise
                .iter()
                .enumerate()
                .map(|(j, e)| mean[j % l] + (0.5 * logvar[j % l]).exp() * e)
                .collect();
            sel.spread_serial += 1;
            self.jobs.submit(Job::Decode {
                purpose: DecodePurpose::Spread,
                stamp: Stamp {
                    generation: ws.generation(),
                    serial: sel.spread_serial,
                },
                model: model.clone(),
                codes: z,
                condition: own_class,
            });
        }
    }

    /// Has the samples the map's thumbnails want reconstructed decoded on the worker (their
    /// posterior means, each as its own class for a conditional model), one request at a time.
    fn request_thumbnail_reconstructions(&mut self) {
        use crate::gui::state::ThumbnailSource;
        use crate::model::Condition;
        if !self.settings.show_thumbnails
            || self.settings.thumbnail_source != ThumbnailSource::Reconstruction
        {
            return;
        }
        let ws = &self.ws;
        let (Some(model), Some(codes)) = (&ws.model, &ws.map.codes) else {
            return;
        };
        let key = (ws.generation(), ws.map.codes_version);
        let recon = &mut self.panels.map.thumbnails.recon;
        recon.keep_only(key);
        if recon.asked.is_some()
            || recon.wanted.is_empty()
            || codes.latent != model.latent()
            || !ws.pair_fits()
        {
            return;
        }
        let samples: Vec<usize> = std::mem::take(&mut recon.wanted)
            .into_iter()
            .filter(|&i| ws.map.position_of(i).is_some())
            .collect();
        let mut z = Vec::with_capacity(samples.len() * codes.latent);
        let mut classes = Vec::with_capacity(samples.len());
        for &i in &samples {
            let Some(k) = ws.map.position_of(i) else {
                continue;
            };
            z.extend_from_slice(codes.mean_of(k));
            if let Condition::Class(c) = ws.condition_of_sample(i) {
                classes.push(c);
            }
        }
        if samples.is_empty() {
            return;
        }
        let condition = if classes.len() == samples.len() {
            Condition::Each(classes)
        } else {
            Condition::None
        };
        recon.serial += 1;
        recon.asked = Some((recon.serial, samples));
        self.jobs.submit(Job::Decode {
            purpose: DecodePurpose::Thumbnails,
            stamp: Stamp {
                generation: key.0,
                serial: recon.serial,
            },
            model: model.clone(),
            codes: z,
            condition,
        });
    }

    /// Asks the worker to decode a grid covering the map's view (x0, y0, x1, y1), unless that
    /// view is already decoded or on its way.
    pub(super) fn request_manifold(&mut self, bounds: [f64; 4]) {
        let p = &mut self.panels.map;
        if p.manifold_asked == Some(bounds) || !bounds.iter().all(|v| v.is_finite()) {
            return;
        }
        let Some(model) = self.ws.model.clone() else {
            return;
        };
        if self.ws.map.codes.is_none() {
            return;
        }
        let n = MANIFOLD_TILES;
        let mut codes = Vec::with_capacity(n * n * model.latent());
        // Rows from the top of the view down, so the grid reads like the map.
        for row in 0..n {
            for col in 0..n {
                let x = bounds[0] + (col as f64 + 0.5) / n as f64 * (bounds[2] - bounds[0]);
                let y = bounds[3] - (row as f64 + 0.5) / n as f64 * (bounds[3] - bounds[1]);
                codes.extend(
                    self.ws
                        .map
                        .unproject([x, y], &self.ws.probe, &self.settings),
                );
            }
        }
        if codes.len() != n * n * model.latent() {
            return;
        }
        p.manifold_asked = Some(bounds);
        p.manifold_serial += 1;
        self.jobs.submit(Job::Decode {
            purpose: DecodePurpose::Manifold,
            stamp: Stamp {
                generation: self.ws.generation(),
                serial: p.manifold_serial,
            },
            model,
            codes,
            condition: self.ws.condition(),
        });
    }

    /// Asks for anomaly scores when something shows them and they are missing or stale.
    fn request_scores_if_needed(&mut self) {
        let wanted = self.settings.color_by == ColorBy::AnomalyScore
            || (self.settings.color_by == ColorBy::Value
                && self.settings.color_value.needs_scores())
            || self.settings.bottom_tab == BottomTab::Anomalies
            || (self.settings.bottom_tab == BottomTab::Groups
                && (!self.ws.groups.is_empty() || self.settings.anomaly_threshold.is_some()));
        let version = self.ws.map.codes_version;
        let s = &self.ws.scores;
        if !wanted
            || self.ws.map.codes.is_none()
            || self.ws.timeline.shown.is_some()
            || s.pending
            || (s.for_codes == version && s.scores.is_some())
        {
            return;
        }
        let recently = s
            .requested_at
            .is_some_and(|t| t.elapsed() < RESCORE_WHILE_TRAINING);
        if self.is_training() && recently && s.scores.is_some() {
            return;
        }
        let (Some(model), Some(data)) = (self.ws.model.clone(), self.ws.data.clone()) else {
            return;
        };
        let s = &mut self.ws.scores;
        s.requested_at = Some(Instant::now());
        s.for_codes = version;
        s.pending = true;
        self.jobs.submit(Job::Score {
            stamp: Stamp {
                generation: self.ws.generation(),
                serial: version,
            },
            model,
            data,
            indices: self.ws.map.indices.clone(),
        });
    }

    pub(super) fn make_attribute(&mut self, plus: u16, minus: u16) {
        let (Some(data), Some(codes)) = (self.ws.data.clone(), self.ws.map.codes.as_ref()) else {
            return;
        };
        let classes = data.class_names().len();
        if plus as usize >= classes || minus as usize >= classes || plus == minus {
            return;
        }
        let l = codes.latent;
        let mean_of = |class: u16| -> Option<Vec<f32>> {
            let mut sum = vec![0f32; l];
            let mut n = 0usize;
            for (k, &i) in self.ws.map.indices.iter().enumerate() {
                if data.label(i) == Some(class) {
                    for (s, v) in sum.iter_mut().zip(codes.mean_of(k)) {
                        *s += v;
                    }
                    n += 1;
                }
            }
            (n > 0).then(|| sum.into_iter().map(|s| s / n as f32).collect())
        };
        let (Some(a), Some(b)) = (mean_of(plus), mean_of(minus)) else {
            self.error("both classes need samples on the map");
            return;
        };
        let name = |c: u16| {
            data.class_names()
                .get(c as usize)
                .cloned()
                .unwrap_or_else(|| c.to_string())
        };
        let attribute = crate::gui::state::AttributeVector {
            name: format!("{} minus {}", name(plus), name(minus)),
            vector: a.iter().zip(&b).map(|(x, y)| x - y).collect(),
            model: self.ws.model_path.clone(),
        };
        self.settings.attributes.push(attribute);
    }

    pub(super) fn show_timeline(&mut self, frame: Option<usize>) {
        let settings = self.settings.clone();
        let ws = &mut self.ws;
        let tl = &mut ws.timeline;
        match frame.and_then(|k| tl.frames.get(k).map(|f| (k, f))) {
            Some((k, f)) if f.latent == ws.model.as_ref().map_or(0, |m| m.latent()) => {
                if tl.shown.is_none() {
                    tl.live_codes = ws.map.codes.clone();
                }
                tl.shown = Some(k);
                let codes = crate::model::Codes {
                    latent: f.latent,
                    mean: f.mean.clone(),
                    logvar: vec![0.0; f.mean.len()],
                };
                ws.map.set_codes(codes, &settings);
            }
            Some(_) => {}
            None => {
                tl.shown = None;
                if let Some(codes) = tl.live_codes.take() {
                    ws.map.set_codes(codes, &settings);
                }
            }
        }
    }

    /// One sample, twenty encode/decode rounds: about a millisecond for the MLP (20-35 ms for
    /// a conv model), done here.
    pub(super) fn fill_in(&mut self) {
        use crate::analysis::{inpaint, make_mask};
        let (Some(i), Some(model), Some(data)) = (
            self.ws.selection,
            self.ws.model.clone(),
            self.ws.data.clone(),
        ) else {
            self.error("select a sample on the map first");
            return;
        };
        if i >= data.len() || model.check_fits(&data).is_err() {
            return;
        }
        let mask = make_mask(self.settings.inpaint_mask, data.shape);
        let mean = data.train_mean_image().to_vec();
        let image = data.image(i);
        match inpaint(
            &model,
            &image,
            &mask,
            &mean,
            self.settings.inpaint_iterations.clamp(1, 1000),
            data.label(i),
        ) {
            Ok(filled) => {
                let (mut e_fill, mut e_mean, mut n) = (0f32, 0f32, 0usize);
                for (k, &seen) in mask.iter().enumerate() {
                    if !seen {
                        e_fill += (filled.completion[k] - image[k]).abs();
                        e_mean += (mean[k] - image[k]).abs();
                        n += 1;
                    }
                }
                let masked: Vec<f32> = image
                    .iter()
                    .zip(&mask)
                    .map(|(&v, &o)| {
                        if o {
                            v
                        } else {
                            crate::gui::panels::missing_data::HIDDEN_GREY
                        }
                    })
                    .collect();
                let mut tiles = image;
                tiles.extend(masked);
                tiles.extend(&filled.completion);
                let f = &mut self.panels.missing.filled;
                f.sample = Some(i);
                f.images.set_grid(tiles, data.shape, 3);
                f.errors = (n > 0).then(|| (e_fill / n as f32, e_mean / n as f32));
                f.path = filled.path;
            }
            Err(e) => self.error(format!("could not fill in: {e}")),
        }
    }

    /// While the model holds unsaved training, the panic hook can write it: keep the hook's
    /// copy current (an `Arc` clone, no weights copied).
    fn keep_unsaved_model(&mut self) {
        let unsaved = self.holds_unsaved_training();
        crate::gui::crash::set_unsaved(if unsaved {
            self.ws.model.clone().map(|m| {
                (
                    m,
                    self.recovery.clone(),
                    self.ws.data_path.clone(),
                    self.ws.model_path.clone(),
                )
            })
        } else {
            None
        });
    }

    /// Writes the unsaved, trained model to the recovery file unless these weights are there
    /// already (the trainer writes one after every epoch).
    pub(super) fn write_recovery(&mut self) {
        let Some(store) = &self.recovery else { return };
        let weights = self.ws.generation().weights;
        if !self.ws.model_unsaved
            || self.panels.training.last_step.is_none()
            || self.recovery_written == Some(weights)
        {
            return;
        }
        if let Some(model) = &self.ws.model
            && store
                .save(
                    model,
                    self.ws.data_path.as_deref(),
                    self.ws.model_path.as_deref(),
                )
                .is_ok()
        {
            self.recovery_written = Some(weights);
        }
    }
}
