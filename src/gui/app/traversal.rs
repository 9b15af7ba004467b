//! Keeping the Traversal tab's grid in step with its controls, the model and the map's codes:
//! asked for on the jobs thread when what it would show changes (only while the tab is shown),
//! and taken when the answer is for the newest request and the current workspace. Also the
//! Analogy tab's requests: two classes or groups made into rows of the map's codes.

use super::ExplorerApp;
use crate::gui::state::BottomTab;
use crate::gui::worker::{Job, Stamp};
use crate::latent::TraversalGrid;
use std::sync::Arc;

impl ExplorerApp {
    pub(super) fn refresh_traversal(&mut self) {
        if self.settings.bottom_tab != BottomTab::Traversal {
            return;
        }
        let Some(model) = self.ws.model.clone() else {
            return;
        };
        let panel = &mut self.panels.traversal;
        let Some((key, needs_codes)) = panel.wanted(&self.settings.traversal, &self.ws) else {
            return;
        };
        if panel.asked.as_ref() == Some(&key) {
            return;
        }
        let codes = if needs_codes {
            match panel.codes_for_job(&self.ws) {
                Some(c) => Some(c),
                None => return,
            }
        } else {
            None
        };
        panel.serial += 1;
        panel.pending = true;
        let stamp = Stamp {
            generation: key.generation,
            serial: panel.serial,
        };
        let spec = key.spec.clone();
        let condition = key.condition.clone();
        panel.asked = Some(key);
        self.jobs.submit(Job::Traverse {
            stamp,
            model,
            codes,
            spec,
            condition,
        });
    }

    pub(super) fn traversed(&mut self, stamp: Stamp, result: Result<Arc<TraversalGrid>, String>) {
        let panel = &mut self.panels.traversal;
        if stamp.serial != panel.serial {
            return;
        }
        if stamp.generation != self.ws.generation() {
            // Made with older weights or another model: a newer request follows.
            panel.pending = false;
            panel.asked = None;
            return;
        }
        match result {
            Ok(g) if g.plan.latent != self.ws.latent() => panel.pending = false,
            result => panel.answered(result),
        }
    }
}

impl ExplorerApp {
    /// The Analogy tab's button: its two sides (classes or groups) become rows of the map's
    /// codes and the worker makes the vector, its quality and the grid.
    pub(super) fn request_analogy(&mut self) {
        use crate::gui::panels::analogy::Side;
        let Some((plus, minus)) = self.panels.analogy.asked.take() else {
            return;
        };
        let (Some(model), Some(data), Some(codes)) = (
            self.ws.model.clone(),
            self.ws.data.clone(),
            self.ws.map.codes.as_ref(),
        ) else {
            return;
        };
        let map = &self.ws.map;
        let rows_of = |side: Side| -> Vec<usize> {
            match side {
                Side::Label(class) => (0..map.indices.len())
                    .filter(|&k| data.label(map.indices[k]) == Some(class))
                    .collect(),
                Side::Group(g) => self
                    .ws
                    .groups
                    .get(g)
                    .map(|g| g.rows(|i| map.position_of(i)))
                    .unwrap_or_default(),
            }
        };
        let (plus_rows, minus_rows) = (rows_of(plus), rows_of(minus));
        let panel = &self.panels.analogy;
        let starts = minus_rows
            .iter()
            .take(panel.rows.max(1))
            .map(|&k| (format!("#{}", map.indices[k]), k))
            .collect();
        let name = |side: Side| {
            side.name(data.class_names(), &self.ws.groups)
                .unwrap_or_else(|| "(deleted group)".into())
        };
        let request = crate::gui::panels::analogy::AnalogyRequest {
            name: format!("{} minus {}", name(plus), name(minus)),
            plus: plus_rows,
            minus: minus_rows,
            starts,
            amounts: crate::latent::analogy_amounts(
                panel.steps.clamp(2, 32),
                panel.reach,
                panel.both_ways,
            ),
        };
        let codes = Arc::new(codes.clone());
        let panel = &mut self.panels.analogy;
        panel.serial += 1;
        panel.pending = true;
        self.jobs.submit(Job::Analogy {
            stamp: Stamp {
                generation: self.ws.generation(),
                serial: panel.serial,
            },
            model,
            codes,
            request,
        });
    }
}
