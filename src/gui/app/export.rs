//! Exports: copies of what the window shows, handed to the worker with where they go (the
//! export folder under a suggested name, or a path chosen in a save dialog). Encoding, drawing
//! the map figure and writing all happen on the worker.

use super::ExplorerApp;
use crate::gui::dialogs::{DialogPurpose, DialogStart, ExportKind};
use crate::gui::export_files::{Destination, default_folder};
use crate::gui::map_figure::{Grouping, MapFigure};
use crate::gui::panels::export::suggested_name;
use crate::gui::panels::map::{axis_name, legend::Legend};
use crate::gui::state::ColorBy;
use crate::gui::worker::{ExportContents, Job};
use std::path::PathBuf;
use std::sync::Arc;

impl ExplorerApp {
    /// The folder plain "Export" writes to.
    pub fn export_folder(&self) -> PathBuf {
        self.settings
            .export_folder
            .clone()
            .unwrap_or_else(default_folder)
    }

    /// The map plot's id, once the map has been laid out (its memory holds the hidden legend
    /// entries).
    pub fn map_plot_id(&self) -> Option<egui::Id> {
        self.map_plot_id
    }

    /// Where a dialog for `purpose` opens, and the name it suggests.
    pub(super) fn dialog_start(&self, purpose: DialogPurpose) -> DialogStart {
        match purpose {
            DialogPurpose::Export(kind) => DialogStart {
                folder: Some(self.export_folder()),
                file_name: Some(suggested_name(&self.ws, kind)),
            },
            DialogPurpose::ExportFolder => DialogStart {
                folder: Some(self.export_folder()),
                file_name: None,
            },
            _ => DialogStart::default(),
        }
    }

    /// Plain "Export": the suggested name in the export folder (a free variant of it).
    pub(super) fn export_to_folder(&mut self, kind: ExportKind) {
        let dest = Destination::InFolder {
            folder: self.export_folder(),
            name: suggested_name(&self.ws, kind),
        };
        self.export(kind, dest);
    }

    /// "Export image" on a picture's menu: the sample, or the code decoded, as a PNG in the
    /// export folder ("mnist-latent2-sample-123.png", "...-decoded.png").
    pub(super) fn export_picture(&mut self, picture: crate::gui::panels::picture::Picture) {
        use crate::gui::panels::picture::Picture;
        let (Some(data), Some(model)) = (self.ws.data.clone(), self.ws.model.clone()) else {
            return;
        };
        let (values, what) = match &picture {
            Picture::Sample(i) if *i < data.len() => (Ok(data.image(*i)), format!("sample-{i}")),
            Picture::Sample(_) => return,
            Picture::Code(code) if self.ws.fits_code(code) => (
                model
                    .decode_as(code, self.ws.condition().classes())
                    .map_err(|e| e.to_string()),
                "decoded".to_string(),
            ),
            Picture::Code(_) => return,
        };
        let scale = self.settings.export_scale.clamp(1, 32);
        let image = values.and_then(|v| {
            crate::render::to_image(&v, data.shape, scale).map_err(|e| e.to_string())
        });
        match image {
            Ok(image) => {
                let prefix = suggested_name(&self.ws, ExportKind::Picture);
                let prefix = prefix.trim_end_matches("picture.png");
                self.jobs.submit(Job::WriteFile {
                    kind: ExportKind::Picture,
                    dest: Destination::InFolder {
                        folder: self.export_folder(),
                        name: format!("{prefix}{what}.png"),
                    },
                    contents: ExportContents::Png(image),
                });
            }
            Err(e) => self.error(format!("could not export the picture: {e}")),
        }
    }

    pub(super) fn export(&mut self, kind: ExportKind, dest: Destination) {
        match self.export_contents(kind) {
            Ok(contents) => self.jobs.submit(Job::WriteFile {
                kind,
                dest,
                contents,
            }),
            Err(e) => self.error(format!("nothing to export as {}: {e}", kind.human_name())),
        }
    }

    fn export_contents(&self, kind: ExportKind) -> Result<ExportContents, String> {
        use crate::gui::textures::ImageView;
        let scale = self.settings.export_scale.clamp(1, 32);
        let ws = &self.ws;
        let png = |view: &ImageView| -> Result<ExportContents, String> {
            view.picture(scale)
                .map(ExportContents::Png)
                .ok_or_else(|| "that picture is empty".to_string())
        };
        match kind {
            ExportKind::Preview => png(&self.panels.decoder.preview),
            ExportKind::Strip => png(&self.panels.interpolation.strip),
            ExportKind::Grid => png(&self.panels.generate.grid),
            ExportKind::Map => self
                .map_figure()
                .map(|f| ExportContents::Figure(Box::new(f))),
            ExportKind::Codes => {
                let data = ws.data.as_ref().ok_or("no dataset is open")?;
                ws.map
                    .codes_csv(data)
                    .map(ExportContents::Text)
                    .ok_or_else(|| "the map has no codes yet".to_string())
            }
            ExportKind::CodesNumpy => {
                let data = ws.data.as_ref().ok_or("no dataset is open")?;
                let codes = ws.map.codes.clone().ok_or("the map has no codes yet")?;
                let labels: Option<Vec<i64>> = data
                    .labels()
                    .map(|all| ws.map.indices.iter().map(|&i| all[i] as i64).collect());
                Ok(ExportContents::Numpy {
                    codes,
                    indices: ws.map.indices.clone(),
                    labels,
                })
            }
            ExportKind::Traversal | ExportKind::TraversalGif => {
                let grid = self.panels.traversal.grid.clone();
                Ok(ExportContents::Traversal {
                    grid: grid.ok_or("the traversal is not computed yet")?,
                    scale,
                    animated: kind == ExportKind::TraversalGif,
                })
            }
            ExportKind::Picture => Err("a picture is exported from its right-click menu".into()),
            ExportKind::GroupCsv | ExportKind::GroupNumpy | ExportKind::GroupPng => {
                Err("a group is exported from the Groups tab".into())
            }
            ExportKind::Analogy => {
                let result = self.panels.analogy.result.as_ref();
                let result = result.ok_or("the analogy is not made yet")?;
                result
                    .grid
                    .picture(scale)
                    .map(ExportContents::Png)
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// The map as the window shows it: its view, colouring (classes, or score bands when
    /// coloured by score and the scores are those of these points) and hidden legend entries.
    fn map_figure(&self) -> Result<MapFigure, String> {
        let ws = &self.ws;
        let s = &self.settings;
        let data = ws.data.as_ref().ok_or("no dataset is open")?;
        if ws.map.codes.is_none() || ws.map.coords.is_empty() {
            return Err("the map has no codes yet".into());
        }
        let coords = ws.map.coords.clone();
        let scores = ws.scores.scores.as_ref().filter(|sc| {
            s.color_by == ColorBy::AnomalyScore
                && sc.len() == coords.len()
                && sc.has(s.anomaly_score)
        });
        // The legend the window draws, with the entries hidden there (kept in the plot's
        // memory); the bands themselves are computed on the worker.
        let memory = self
            .map_plot_id
            .and_then(|id| egui_plot::PlotMemory::load(self.events.ctx(), id));
        let bands = scores.map(|_| Arc::new(Vec::new()));
        let legend = Legend::new(
            data,
            &ws.map.indices,
            bands,
            None,
            memory.as_ref(),
            s.map_split,
        );
        let values = (s.color_by == ColorBy::Value)
            .then(|| self.panels.map.cached_values())
            .flatten()
            .filter(|v| v.values.len() == coords.len());
        let (grouping, legend_title, colouring, mut entries, mut hidden) = match (values, scores) {
            // A value on the gradient: eight even bins of its range, each an entry.
            (Some(v), _) => {
                const BINS: usize = 8;
                let (lo, hi) = v.range;
                let width = (hi - lo).max(f32::MIN_POSITIVE);
                let bin = |x: f32| (((x - lo) / width * BINS as f32) as usize).min(BINS - 1) as u16;
                let label = v.kind.label();
                (
                    Grouping::Groups(v.values.iter().map(|&x| bin(x)).collect()),
                    label.clone(),
                    format!("coloured by {label}"),
                    (0..BINS)
                        .map(|b| {
                            let at = |f: f32| lo + width * f / BINS as f32;
                            (
                                format!("{:.2} to {:.2}", at(b as f32), at(b as f32 + 1.0)),
                                crate::gui::panels::map::gradient::viridis(
                                    (b as f32 + 0.5) / BINS as f32,
                                ),
                            )
                        })
                        .collect(),
                    vec![false; BINS],
                )
            }
            (None, Some(sc)) => {
                let label = s.anomaly_score.label();
                (
                    Grouping::Scores(sc.values(s.anomaly_score)),
                    format!("{label}, quantile"),
                    format!("coloured by {label}"),
                    legend_entries(&legend),
                    legend.hidden.clone(),
                )
            }
            (None, None) => (
                Grouping::Groups(
                    (0..coords.len())
                        .map(|k| legend.group_of(k) as u16)
                        .collect(),
                ),
                "class".to_string(),
                "coloured by class".to_string(),
                legend_entries(&legend),
                legend.hidden.clone(),
            ),
        };
        // Only the split the map shows: the others go to an extra, hidden entry.
        let (grouping, coords) = if s.map_split == crate::gui::state::SplitFilter::All {
            (grouping, coords)
        } else {
            let out = entries.len() as u16;
            entries.push(("other split".into(), egui::Color32::GRAY));
            hidden.push(true);
            let keep = |k: usize| {
                ws.map
                    .indices
                    .get(k)
                    .is_some_and(|&i| s.map_split.keeps(data.split_of(i)))
            };
            let grouping = match grouping {
                Grouping::Groups(g) => Grouping::Groups(
                    g.into_iter()
                        .enumerate()
                        .map(|(k, v)| if keep(k) { v } else { out })
                        .collect(),
                ),
                other => other,
            };
            (grouping, coords)
        };
        let view = self
            .panels
            .map
            .screen
            .map(|t| {
                let b = t.bounds();
                [b.min()[0], b.min()[1], b.max()[0], b.max()[1]]
            })
            .filter(|v| v.iter().all(|x| x.is_finite()) && v[2] > v[0] && v[3] > v[1])
            .or_else(|| {
                // Not drawn yet: all the points, with a little room around them.
                let (lo, hi) = ws.map.bounds()?;
                let pad = [(hi[0] - lo[0]) * 0.04, (hi[1] - lo[1]) * 0.04];
                Some([
                    lo[0] - pad[0],
                    lo[1] - pad[1],
                    hi[0] + pad[0],
                    hi[1] + pad[1],
                ])
            })
            .ok_or("the map has no extent")?;
        let model = ws
            .model_path
            .as_ref()
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "unsaved model".into());
        let latent = ws.latent();
        Ok(MapFigure {
            title: format!("{} · {model}", data.name),
            subtitle: format!("{} points, latent {latent}, {colouring}", coords.len()),
            axis_names: [axis_name(s, latent, 0), axis_name(s, latent, 1)],
            coords,
            grouping,
            legend_title,
            entries,
            hidden,
            view,
            point_radius: s.point_radius,
            scale: s.export_scale.clamp(1, 8),
        })
    }
}

/// The legend's entries as the figure lists them.
fn legend_entries(legend: &Legend) -> Vec<(String, egui::Color32)> {
    legend
        .entries
        .iter()
        .map(|e| (e.name.clone(), e.colour))
        .collect()
}
