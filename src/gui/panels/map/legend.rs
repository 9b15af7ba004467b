//! What colours the map's points and the legend that names the colours: classes, or anomaly
//! score bands. The legend's check boxes (egui_plot's hidden items) hide a colour group from
//! both the raster and picking.

use crate::data::Dataset;
use crate::gui::map_view::class_colour;
use crate::gui::state::SplitFilter;
use egui::Color32;
use egui_plot::ItemId;
use std::sync::Arc;

pub const BAND_NAMES: [&str; 6] = ["0-50%", "50-75%", "75-90%", "90-97%", "97-99%", "99-100%"];
pub const BAND_COLOURS: [Color32; 6] = [
    Color32::from_rgb(40, 60, 140),
    Color32::from_rgb(40, 130, 170),
    Color32::from_rgb(90, 180, 120),
    Color32::from_rgb(230, 200, 60),
    Color32::from_rgb(240, 130, 40),
    Color32::from_rgb(230, 40, 40),
];

/// Each point's score band by quantile (0: the best explained half ... 5: the top 1%),
/// coloured from dark blue to red by `BAND_COLOURS`.
pub fn score_bands(values: &[f32]) -> Vec<u8> {
    if values.is_empty() {
        return Vec::new();
    }
    let mut sorted: Vec<f32> = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let q = |f: f64| sorted[((sorted.len() - 1) as f64 * f) as usize];
    let edges = [0.5, 0.75, 0.9, 0.97, 0.99].map(q);
    values
        .iter()
        .map(|v| edges.iter().position(|e| v <= e).unwrap_or(edges.len()) as u8)
        .collect()
}

/// One legend entry: name, colour, and the key of the plot item its check box hides (given to
/// the plot as is: egui_plot hashes it into the item's id).
pub struct Entry {
    pub name: String,
    pub colour: Color32,
    pub key: (&'static str, usize),
}

/// The legend and which group each map point belongs to.
pub struct Legend<'a> {
    pub entries: Vec<Entry>,
    /// Score bands per map point (colour by score), else classes from the labels.
    bands: Option<Arc<Vec<u8>>>,
    data: &'a Dataset,
    indices: &'a [usize],
    /// Hidden by the user (legend check boxes), per entry.
    pub hidden: Vec<bool>,
    /// Only this split is shown.
    pub split: SplitFilter,
    /// Colour by a value on a gradient (one legend entry).
    values: Option<super::gradient::ValueColours>,
}

impl<'a> Legend<'a> {
    /// For the map's `indices` of `data`, coloured by `bands` when given.
    pub fn new(
        data: &'a Dataset,
        indices: &'a [usize],
        bands: Option<Arc<Vec<u8>>>,
        values: Option<super::gradient::ValueColours>,
        memory: Option<&egui_plot::PlotMemory>,
        split: SplitFilter,
    ) -> Self {
        let names = data.class_names();
        let entries: Vec<Entry> = match (&bands, &values) {
            (_, Some(v)) => vec![Entry {
                name: v.kind.label(),
                colour: super::gradient::viridis(0.5),
                key: ("value", 0),
            }],
            (Some(_), None) => BAND_NAMES
                .iter()
                .zip(BAND_COLOURS)
                .enumerate()
                .map(|(k, (n, c))| Entry {
                    name: n.to_string(),
                    colour: c,
                    key: ("band", k),
                })
                .collect(),
            (None, None) if data.labels().is_some() => (0..names.len().max(1))
                .map(|g| {
                    let [r, gg, b] = class_colour(Some(g as u16));
                    Entry {
                        name: names.get(g).cloned().unwrap_or_else(|| g.to_string()),
                        colour: Color32::from_rgb(r, gg, b),
                        key: ("class", g),
                    }
                })
                .collect(),
            (None, None) => {
                let [r, g, b] = class_colour(None);
                vec![Entry {
                    name: "samples".into(),
                    colour: Color32::from_rgb(r, g, b),
                    key: ("class", 0),
                }]
            }
        };
        let hidden = entries
            .iter()
            .map(|e| memory.is_some_and(|m| m.hidden_items.contains(&ItemId::new(e.key))))
            .collect();
        Self {
            entries,
            bands,
            data,
            indices,
            hidden,
            split,
            values,
        }
    }

    /// Whether map point `k` is of the split shown.
    fn in_split(&self, k: usize) -> bool {
        self.split == SplitFilter::All
            || self
                .indices
                .get(k)
                .is_some_and(|&i| self.split.keeps(self.data.split_of(i)))
    }

    /// Some legend entry is switched off.
    pub fn any_hidden(&self) -> bool {
        self.hidden.iter().any(|&h| h)
    }

    /// The legend entry of map point `k`.
    pub fn group_of(&self, k: usize) -> usize {
        if self.values.is_some() {
            return 0;
        }
        let g = match &self.bands {
            Some(b) => b.get(k).copied().unwrap_or(0) as usize,
            None => self
                .indices
                .get(k)
                .and_then(|&i| self.data.label(i))
                .unwrap_or(0) as usize,
        };
        g.min(self.entries.len().saturating_sub(1))
    }

    /// The colour of map point `k`, None when its group is hidden.
    pub fn colour_of(&self, k: usize) -> Option<Color32> {
        let g = self.group_of(k);
        if self.hidden[g] || !self.in_split(k) {
            return None;
        }
        Some(match &self.values {
            Some(v) => v.colour_of(k),
            None => self.entries[g].colour,
        })
    }

    pub fn is_hidden(&self, k: usize) -> bool {
        self.hidden[self.group_of(k)] || !self.in_split(k)
    }

    pub fn values(&self) -> Option<&super::gradient::ValueColours> {
        self.values.as_ref()
    }

    pub fn bands(&self) -> Option<&Arc<Vec<u8>>> {
        self.bands.as_ref()
    }
}

/// Shows only entry `keep` of the map's legend (None: shows every entry), as an Alt+click on
/// the legend does.
pub fn solo(
    ctx: &egui::Context,
    plot_id: egui::Id,
    keys: &[(&'static str, usize)],
    keep: Option<usize>,
) {
    let Some(mut memory) = egui_plot::PlotMemory::load(ctx, plot_id) else {
        return;
    };
    memory.hidden_items = keys
        .iter()
        .enumerate()
        .filter(|&(k, _)| Some(k) != keep)
        .filter(|_| keep.is_some())
        .map(|(_, key)| ItemId::new(key))
        .collect();
    memory.store(ctx, plot_id);
}
