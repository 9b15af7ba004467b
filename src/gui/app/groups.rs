//! Applying what the map's lasso and the Groups tab ask for: the multi-selection, groups made
//! from it, from a label or from the anomaly threshold, and what a group can do (rename,
//! recolour, show or hide, delete, export, decode its mean). Every index is checked against
//! the current dataset here; a group position from a frame ago that no longer exists is
//! ignored.

use super::ExplorerApp;
use crate::gui::command::{GroupEdit, GroupSource};
use crate::gui::dialogs::ExportKind;
use crate::gui::export_files::{Destination, slug};
use crate::gui::panels::export::suggested_name;
use crate::gui::worker::{ExportContents, Job};
use crate::latent::{Group, SelectMode, combine, next_colour};

impl ExplorerApp {
    /// A lasso or rectangle's samples, combined with the multi-selection.
    pub(super) fn select_many(&mut self, indices: Vec<u32>, mode: SelectMode) {
        let n = self.ws.data.as_ref().map_or(0, |d| d.len());
        let inside: Vec<u32> = indices.into_iter().filter(|&i| (i as usize) < n).collect();
        self.ws.multi_selection = combine(&self.ws.multi_selection, &inside, mode);
        self.ws.groups_version += 1;
    }

    pub(super) fn clear_multi_selection(&mut self) {
        if !self.ws.multi_selection.is_empty() {
            self.ws.multi_selection.clear();
            self.ws.groups_version += 1;
        }
    }

    pub(super) fn make_group(&mut self, source: GroupSource) {
        let Some(data) = self.ws.data.clone() else {
            return;
        };
        let count = self.ws.groups.len() + 1;
        let (name, indices) = match source {
            GroupSource::Selection => (
                format!("selection {count}"),
                self.ws.multi_selection.clone(),
            ),
            GroupSource::Label(label) => {
                let name = data
                    .class_names()
                    .get(label as usize)
                    .map(|c| format!("class {c}"))
                    .unwrap_or_else(|| format!("label {label}"));
                (name, Group::of_label(&data, &self.ws.map.indices, label))
            }
            GroupSource::AnomalyThreshold => {
                let Some(threshold) = self.settings.anomaly_threshold else {
                    self.info("set an anomaly threshold first (Anomalies tab)");
                    return;
                };
                let kind = self.settings.anomaly_score;
                let scores = self.ws.scores.scores.as_ref();
                let Some(scores) = scores.filter(|s| s.len() == self.ws.map.indices.len()) else {
                    self.info("the anomaly scores are not computed yet");
                    return;
                };
                let values = scores.values(kind);
                let members = (0..values.len())
                    .filter(|&k| values[k] > threshold)
                    .map(|k| self.ws.map.indices[k] as u32)
                    .collect();
                (format!("{} > {threshold:.1}", kind.label()), members)
            }
        };
        let group = Group::new(name, next_colour(&self.ws.groups), indices);
        let (name, len) = (group.name.clone(), group.len());
        match self.ws.add_group(group) {
            Ok(_) => {
                if source == GroupSource::Selection {
                    // The group's rings take over from the selection's highlight.
                    self.clear_multi_selection();
                }
                self.info(format!("made the group \"{name}\" of {len} samples"));
            }
            Err(e) => self.info(format!("no group made: {e}")),
        }
    }

    pub(super) fn edit_group(&mut self, k: usize, edit: GroupEdit) {
        if k >= self.ws.groups.len() {
            return;
        }
        match edit {
            GroupEdit::Rename(name) => self.ws.groups[k].name = name,
            GroupEdit::Recolour(colour) => self.ws.groups[k].colour = colour,
            GroupEdit::Show(visible) => self.ws.groups[k].visible = visible,
            GroupEdit::Delete => {
                self.ws.groups.remove(k);
            }
            GroupEdit::Select => {
                self.ws.multi_selection = self.ws.groups[k].indices.clone();
            }
            GroupEdit::DecodeMean => {
                let map = &self.ws.map;
                let rows = self.ws.groups[k].rows(|i| map.position_of(i));
                let mean = map
                    .codes
                    .as_ref()
                    .and_then(|codes| crate::latent::group_stats(codes, &rows, None, 0).ok());
                if let Some(s) = mean
                    && self.ws.fits_code(&s.mean_code)
                {
                    self.ws.probe = s.mean_code;
                }
            }
            GroupEdit::Export(kind) => self.export_group(k, kind),
        }
        self.ws.groups_version += 1;
    }

    /// Writes group `k` to the export folder as `kind` ("mnist-latent2-group-sevens.csv").
    fn export_group(&mut self, k: usize, kind: ExportKind) {
        let Some(data) = self.ws.data.clone() else {
            return;
        };
        let group = &self.ws.groups[k];
        let map = &self.ws.map;
        let (indices, codes) = match &map.codes {
            Some(codes) => {
                let rows = group.rows(|i| map.position_of(i));
                let indices = rows.iter().map(|&r| map.indices[r]).collect();
                (indices, crate::latent::codes_at(codes, &rows))
            }
            None if kind == ExportKind::GroupPng => (
                group.indices.iter().map(|&i| i as usize).collect(),
                crate::model::Codes {
                    latent: 0,
                    mean: Vec::new(),
                    logvar: Vec::new(),
                },
            ),
            None => {
                self.info("the map has no codes yet: nothing to export");
                return;
            }
        };
        let suggested = suggested_name(&self.ws, kind);
        let prefix = suggested.trim_end_matches(kind.name_suffix());
        let extension = kind.name_suffix().rsplit('.').next().unwrap_or("csv");
        let name = format!("{prefix}group-{}.{extension}", slug(&group.name));
        self.jobs.submit(Job::WriteFile {
            kind,
            dest: Destination::InFolder {
                folder: self.export_folder(),
                name,
            },
            contents: ExportContents::Group {
                kind,
                data,
                indices,
                codes,
                scale: self.settings.export_scale.clamp(1, 8),
            },
        });
    }
}
