//! Keeping the Traversal tab's grid in step with its controls, the model and the map's codes:
//! asked for on the jobs thread when what it would show changes (only while the tab is shown),
//! and taken when the answer is for the newest request and the current workspace.

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
        panel.asked = Some(key);
        self.jobs.submit(Job::Traverse {
            stamp,
            model,
            codes,
            spec,
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
