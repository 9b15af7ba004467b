//! Two map overlays made from the codes on the jobs thread:
//!
//! - **clusters**: a k-means clustering of the codes, each cluster shown at its medoid by the
//!   medoid's thumbnail, its majority label and purity;
//! - **holes**: draws from the prior that lie farther from the codes than 99% of the codes lie
//!   from their own neighbours ([`crate::analysis::find_holes`]), shaded; a click on one moves
//!   the probe to that draw's code, so the Decoder shows what the prior would decode there.

use super::draw::Shown;
use crate::analysis::Holes;
use crate::analysis::MAX_CLUSTERS;
use crate::gui::codes_analysis::{Cached, Clustering, CodesAnswer, CodesRequest, Progress};
use crate::gui::command::Command;
use crate::gui::panels::PanelCtx;
use crate::gui::state::Settings;
use crate::gui::textures::ImageView;
use egui::{Color32, RichText, Ui};
use egui_plot::{MarkerShape, PlotImage, PlotPoint, PlotPoints, PlotUi, Points, Text};
use std::sync::Arc;

/// Side of a medoid thumbnail on screen (points).
const THUMB_PX: f64 = 34.0;
/// Screen distance (points) within which a click hits a hole.
const HOLE_HIT_PX: f64 = 7.0;

/// One cluster as drawn: where, what it says, and its medoid's picture.
struct ClusterMark {
    at: [f64; 2],
    text: String,
    texture: Option<egui::TextureId>,
}

pub struct ClusterLayer {
    pub show_clusters: bool,
    pub k: usize,
    pub show_holes: bool,
    pub clusters: Cached<Arc<Clustering>>,
    pub holes: Cached<Arc<Holes>>,
    /// Medoid thumbnails and the (codes version, k) they show.
    thumbs: Vec<ImageView>,
    thumbs_for: Option<(u64, usize)>,
    /// This frame's drawing, in map coordinates.
    marks: Vec<ClusterMark>,
    /// Holes in this frame's projection, with their index among the hole draws.
    hole_points: Vec<([f64; 2], usize)>,
    shown_holes: Option<Arc<Holes>>,
}

impl Default for ClusterLayer {
    fn default() -> Self {
        Self {
            show_clusters: false,
            k: 10,
            show_holes: false,
            clusters: Cached::default(),
            holes: Cached::default(),
            thumbs: Vec::new(),
            thumbs_for: None,
            marks: Vec::new(),
            hole_points: Vec::new(),
            shown_holes: None,
        }
    }
}

impl ClusterLayer {
    /// The same toggles, nothing derived (another dataset or model).
    pub fn reset(&mut self) {
        *self = Self {
            show_clusters: self.show_clusters,
            k: self.k,
            show_holes: self.show_holes,
            ..Self::default()
        };
    }

    fn cluster_request(&self) -> CodesRequest {
        CodesRequest::Clusters { k: self.k }
    }

    /// The clustering now on the map, if any.
    pub fn clustering(&self, codes_version: u64) -> Option<&Arc<Clustering>> {
        self.clusters.get(codes_version, self.cluster_request())
    }

    /// The holes of the codes now on the map, if any.
    pub fn holes_now(&self, codes_version: u64) -> Option<&Arc<Holes>> {
        self.holes.get(codes_version, CodesRequest::Holes)
    }

    pub fn accept(&mut self, version: u64, request: CodesRequest, answer: CodesAnswer, secs: f64) {
        match answer {
            CodesAnswer::Clusters(c) => {
                self.clusters.accept(version, request, c, secs);
            }
            CodesAnswer::Holes(h) => {
                self.holes.accept(version, request, h, secs);
            }
            CodesAnswer::Mixture(_) => {}
        }
    }

    pub fn fail(&mut self, request: CodesRequest) {
        match request {
            CodesRequest::Holes => self.holes.fail(),
            _ => self.clusters.fail(),
        }
    }

    /// The toggles, one wrapping row; asks for what is switched on and missing.
    pub fn controls_ui(&mut self, ui: &mut Ui, ctx: &PanelCtx, commands: &mut Vec<Command>) {
        let version = ctx.ws.map.codes_version;
        ui.horizontal_wrapped(|ui| {
            ui.checkbox(&mut self.show_clusters, "clusters").on_hover_text(
                "k-means on the codes: each cluster's medoid, majority label and purity",
            );
            if self.show_clusters {
                ui.add(
                    egui::DragValue::new(&mut self.k)
                        .range(1..=MAX_CLUSTERS)
                        .prefix("k = "),
                );
                progress_ui(ui, self.clusters.progress(version, self.cluster_request()));
            }
            ui.checkbox(&mut self.show_holes, "holes").on_hover_text(
                "Draws from the prior farther from every code than 99% of codes are from their neighbours: the prior puts mass there, the data none. Click one to decode it.",
            );
            if self.show_holes {
                let progress = self.holes.progress(version, CodesRequest::Holes);
                progress_ui(ui, progress);
                if let Some(h) = self.holes_now(version) {
                    ui.small(format!(
                        "{:.0}% of the prior's mass",
                        h.prior_mass_in_holes() * 100.0
                    ));
                }
            }
        });
        if ctx.ws.map.codes.is_none() || ctx.training {
            return;
        }
        if self.show_clusters && self.clusters.ask(version, self.cluster_request()) {
            commands.push(Command::AnalyseCodes(self.cluster_request()));
        }
        if self.show_holes && self.holes.ask(version, CodesRequest::Holes) {
            commands.push(Command::AnalyseCodes(CodesRequest::Holes));
        }
    }

    /// What to draw this frame, in the current projection.
    pub fn prepare(&mut self, egui_ctx: &egui::Context, ctx: &PanelCtx, settings: &Settings) {
        self.marks.clear();
        self.hole_points.clear();
        self.shown_holes = None;
        let map = &ctx.ws.map;
        let version = map.codes_version;
        let latent = ctx.ws.latent();
        if self.show_holes
            && let Some(h) = self.holes_now(version).cloned()
            && h.dims == latent
        {
            self.hole_points = h
                .hole_indices()
                .into_iter()
                .map(|i| (map.project(h.probe(i), settings), i))
                .collect();
            self.shown_holes = Some(h);
        }
        let (true, Some(c), Some(data)) = (
            self.show_clusters,
            self.clustering(version).cloned(),
            &ctx.ws.data,
        ) else {
            return;
        };
        if self.thumbs_for != Some((version, c.k)) {
            self.thumbs = c
                .summaries
                .iter()
                .map(|s| {
                    let mut view = ImageView::default();
                    if let Some(&i) = s.medoid.and_then(|m| map.indices.get(m))
                        && i < data.len()
                    {
                        view.set_single(data.image(i), data.shape, &[]);
                    }
                    view
                })
                .collect();
            self.thumbs_for = Some((version, c.k));
        }
        for (j, s) in c.summaries.iter().enumerate() {
            let Some(at) = s.medoid.and_then(|m| map.coords.get(m)) else {
                continue;
            };
            let label = s
                .majority_label
                .map(|l| {
                    let name = data
                        .class_names()
                        .get(l as usize)
                        .cloned()
                        .unwrap_or_else(|| l.to_string());
                    format!("{name} · {:.0}%", s.purity * 100.0)
                })
                .unwrap_or_else(|| format!("cluster {}", j + 1));
            let texture = self
                .thumbs
                .get_mut(j)
                .and_then(|t| t.texture(egui_ctx, &format!("cluster-medoid-{j}")))
                .map(|t| t.id());
            self.marks.push(ClusterMark {
                at: *at,
                text: format!("{label} ({})", s.size),
                texture,
            });
        }
    }

    /// Draws into the map's plot (after the points, before the selection).
    pub fn draw(&self, plot: &mut PlotUi) {
        if !self.hole_points.is_empty() {
            let points: Vec<[f64; 2]> = self.hole_points.iter().map(|p| p.0).collect();
            plot.points(
                Points::new("", PlotPoints::from(points))
                    .shape(MarkerShape::Circle)
                    .filled(true)
                    .radius(5.0)
                    .color(Color32::from_rgba_unmultiplied(255, 70, 70, 70)),
            );
        }
        if self.marks.is_empty() {
            return;
        }
        let per_px = plot.transform().dvalue_dpos();
        let (w, h) = (THUMB_PX * per_px[0].abs(), THUMB_PX * per_px[1].abs());
        for m in &self.marks {
            if let Some(id) = m.texture {
                plot.image(PlotImage::new(
                    "",
                    id,
                    PlotPoint::new(m.at[0], m.at[1]),
                    egui::vec2(w as f32, h as f32),
                ));
            }
            plot.text(
                Text::new(
                    "",
                    PlotPoint::new(m.at[0], m.at[1] + h * 0.75),
                    RichText::new(&m.text).strong().size(13.0),
                )
                .color(Color32::WHITE),
            );
        }
    }

    /// A click on a hole (where the map would move the probe to empty space) moves the probe
    /// to that hole's code instead. The map holds a click until the double-click time has
    /// passed, so the click's command is changed while it waits.
    pub fn after_plot(
        &self,
        shown: &Shown,
        pending: &mut Option<super::interaction::PendingClick>,
    ) {
        let (true, Some(pos), Some(holes)) = (
            shown.response.clicked(),
            shown.pointer,
            self.shown_holes.as_ref(),
        ) else {
            return;
        };
        let Some(click) = pending.as_mut() else {
            return;
        };
        if !matches!(click.command, Command::SetProbe(_)) {
            return;
        }
        let screen = |p: [f64; 2]| {
            let dx = (p[0] - pos.x) * shown.scale[0];
            let dy = (p[1] - pos.y) * shown.scale[1];
            dx * dx + dy * dy
        };
        let nearest = self
            .hole_points
            .iter()
            .map(|&(p, i)| (screen(p), i))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((d2, i)) = nearest
            && d2 <= HOLE_HIT_PX * HOLE_HIT_PX
        {
            click.command = Command::SetProbe(holes.probe(i).to_vec());
        }
    }
}

fn progress_ui(ui: &mut Ui, progress: Progress) {
    match progress {
        Progress::Working => {
            ui.spinner();
        }
        Progress::Ready(secs) => {
            ui.small(format!("{secs:.1} s"));
        }
        Progress::Failed => {
            ui.small("failed (see the notice)");
        }
        Progress::Idle => {}
    }
}
