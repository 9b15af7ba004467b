//! What the window does with a loaded model beyond showing it: anomaly scores, the decoded
//! background, nearest samples, attribute vectors, the training timeline and filling in
//! missing pixels. The same `ExplorerApp`, split out of `mod.rs` to keep files focused.

use super::*;

impl ExplorerApp {
    /// Asks the worker to decode a grid covering the map's current view (x0, y0, x1, y1),
    /// unless that view is already decoded or on its way.
    pub fn request_manifold(&mut self, bounds: [f64; 4]) {
        let s = &mut self.session;
        if s.manifold_asked == Some(bounds) {
            return;
        }
        let Some(model) = s.model.clone() else { return };
        let n = MANIFOLD_TILES;
        let mut codes = Vec::with_capacity(n * n * model.latent());
        // Rows from the top of the view down, so the grid reads like the map.
        for row in 0..n {
            for col in 0..n {
                let x = bounds[0] + (col as f64 + 0.5) / n as f64 * (bounds[2] - bounds[0]);
                let y = bounds[3] - (row as f64 + 0.5) / n as f64 * (bounds[3] - bounds[1]);
                codes.extend(s.map.unproject([x, y], &s.probe, &self.settings));
            }
        }
        s.manifold_asked = Some(bounds);
        s.manifold_generation += 1;
        self.jobs.submit(Job::Decode {
            purpose: DecodePurpose::Manifold,
            generation: s.manifold_generation,
            model,
            codes,
        });
    }

    /// Asks for anomaly scores when something shows them and they are missing or stale.
    pub(super) fn request_scores_if_needed(&mut self) {
        use crate::gui::state::{BottomTab, ColorBy};
        let wanted = self.settings.color_by == ColorBy::AnomalyScore
            || self.settings.bottom_tab == BottomTab::Anomalies;
        let a = &self.session.anomalies;
        let map_gen = self.session.map.generation;
        if !wanted
            || self.session.map.codes.is_none()
            || a.pending
            || (a.generation == map_gen && a.scores.is_some())
        {
            return;
        }
        let recently = a
            .requested_at
            .is_some_and(|t| t.elapsed() < RESCORE_WHILE_TRAINING);
        if self.is_training() && recently && a.scores.is_some() {
            return;
        }
        let (Some(model), Some(data)) = (self.session.model.clone(), self.session.data.clone())
        else {
            return;
        };
        self.session.anomalies.requested_at = Some(Instant::now());
        self.session.anomalies.generation = map_gen;
        self.session.anomalies.pending = true;
        self.jobs.submit(Job::Score {
            generation: map_gen,
            model,
            data,
            indices: self.session.map.indices.clone(),
        });
    }

    /// The ranked list and its thumbnails, for the current score kind.
    pub fn refresh_top_anomalies(&mut self) {
        let (Some(scores), Some(data)) = (&self.session.anomalies.scores, &self.session.data)
        else {
            return;
        };
        let top: Vec<usize> = scores
            .ranked(self.settings.anomaly_score)
            .into_iter()
            .take(TOP_ANOMALIES)
            .map(|k| scores.indices[k])
            .collect();
        let values: Vec<f32> = top.iter().flat_map(|&i| data.image(i)).collect();
        let shape = data.shape;
        self.session.anomalies.thumbnails.set_grid(values, shape, 8);
        self.session.anomalies.top = top;
    }

    /// The nearest samples to the probe (a scan of the map's codes: 10k x latent, well under
    /// a millisecond), recomputed when the probe or the codes change.
    pub(super) fn refresh_neighbours(&mut self) {
        let s = &mut self.session;
        let key_changed = s.neighbours_for != s.probe;
        if (!key_changed && s.neighbour_images.version != 0 && !s.neighbours.is_empty())
            || s.map.codes.is_none()
        {
            return;
        }
        let Some(data) = s.data.clone() else { return };
        s.neighbours = s.map.nearest_codes(&s.probe, NEIGHBOURS);
        s.neighbours_for = s.probe.clone();
        let values: Vec<f32> = s.neighbours.iter().flat_map(|&i| data.image(i)).collect();
        if !values.is_empty() {
            s.neighbour_images.set_grid(values, data.shape, NEIGHBOURS);
        }
    }

    /// The attribute vectors that belong to the current model.
    pub fn attributes_for_model(&self) -> Vec<usize> {
        let latent = self.latent();
        (0..self.settings.attributes.len())
            .filter(|&k| {
                let a = &self.settings.attributes[k];
                a.vector.len() == latent && a.model == self.session.model_path
            })
            .collect()
    }

    pub(super) fn make_attribute(&mut self, plus: u16, minus: u16) {
        let (Some(data), Some(codes)) =
            (self.session.data.clone(), self.session.map.codes.as_ref())
        else {
            return;
        };
        let l = codes.latent;
        let mean_of = |class: u16| -> Option<Vec<f32>> {
            let mut sum = vec![0f32; l];
            let mut n = 0usize;
            for (k, &i) in self.session.map.indices.iter().enumerate() {
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
            model: self.session.model_path.clone(),
        };
        self.settings.attributes.push(attribute);
    }

    pub(super) fn record_timeline(&mut self, codes: &crate::model::Codes) {
        let t = &self.session.training;
        let (step, epoch) = t
            .last_step
            .as_ref()
            .map(|s| (s.global_step, s.epoch))
            .unwrap_or((0, 0));
        let tl = &mut self.session.timeline;
        tl.push(TimelineFrame {
            step,
            epoch,
            latent: codes.latent,
            mean: codes.mean.clone(),
        });
        let most = (TIMELINE_VALUES / codes.mean.len().max(1)).clamp(8, TIMELINE_FRAMES);
        if tl.len() > most {
            let mut k = 0;
            tl.retain(|_| {
                k += 1;
                k % 2 == 1
            });
        }
    }

    pub(super) fn show_timeline(&mut self, frame: Option<usize>) {
        let s = &mut self.session;
        match frame.and_then(|k| s.timeline.get(k).map(|f| (k, f))) {
            Some((k, f)) => {
                if s.timeline_shown.is_none() {
                    s.live_codes = s.map.codes.clone();
                }
                s.timeline_shown = Some(k);
                let codes = crate::model::Codes {
                    latent: f.latent,
                    mean: f.mean.clone(),
                    logvar: vec![0.0; f.mean.len()],
                };
                s.map.set_codes(codes, &self.settings);
            }
            None => {
                s.timeline_shown = None;
                if let Some(codes) = s.live_codes.take() {
                    s.map.set_codes(codes, &self.settings);
                }
            }
        }
    }

    /// One sample, twenty encode/decode rounds: about a millisecond for the MLP (20-35 ms for
    /// a conv model), done here.
    pub(super) fn fill_in(&mut self) {
        use crate::analysis::{inpaint, make_mask};
        let (Some(i), Some(model), Some(data)) = (
            self.session.selection,
            self.session.model.clone(),
            self.session.data.clone(),
        ) else {
            self.error("select a sample on the map first");
            return;
        };
        let mask = make_mask(self.settings.inpaint_mask, data.shape);
        let mean = data.train_mean_image().to_vec();
        let image = data.image(i);
        match inpaint(
            &model,
            &image,
            &mask,
            &mean,
            self.settings.inpaint_iterations,
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
                    .map(|(&v, &o)| if o { v } else { 0.25 })
                    .collect();
                let mut tiles = image;
                tiles.extend(masked);
                tiles.extend(&filled.completion);
                let f = &mut self.session.filled;
                f.sample = Some(i);
                f.images.set_grid(tiles, data.shape, 3);
                f.errors = (n > 0).then(|| (e_fill / n as f32, e_mean / n as f32));
                f.path = filled.path;
            }
            Err(e) => self.error(format!("could not fill in: {e}")),
        }
    }
}
