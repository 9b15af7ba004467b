//! Where the Generate tab draws its codes from: the prior N(0, I), or a Gaussian mixture
//! fitted to the map's codes (k components, or k chosen by BIC), so that samples land where
//! the data is. The fit runs on the jobs thread and is kept for the codes it was made from.

use super::{Command, PanelCtx};
use crate::analysis::{Components, Covariance, DEFAULT_BIC_MAX, MixtureFit};
use crate::gui::codes_analysis::{Cached, CodesRequest, Progress};
use egui::Ui;
use std::sync::Arc;

/// The most components offered by the slider.
pub const MAX_SLIDER_COMPONENTS: usize = 30;

pub struct SampleSource {
    pub from_mixture: bool,
    /// Components when not chosen by BIC.
    pub k: usize,
    pub by_bic: bool,
    pub fits: Cached<Arc<MixtureFit>>,
}

impl Default for SampleSource {
    fn default() -> Self {
        Self {
            from_mixture: false,
            k: 10,
            by_bic: false,
            fits: Cached::default(),
        }
    }
}

impl SampleSource {
    /// The fit asked for by the controls.
    pub fn request(&self) -> CodesRequest {
        CodesRequest::Mixture {
            components: if self.by_bic {
                Components::Bic {
                    max: DEFAULT_BIC_MAX,
                }
            } else {
                Components::Fixed(self.k)
            },
            covariance: Covariance::Full,
        }
    }

    /// The fit to draw from for the codes now on the map (None: draw from the prior, or
    /// the fit is not there yet).
    pub fn mixture(&self, codes_version: u64) -> Option<&Arc<MixtureFit>> {
        self.fits.get(codes_version, self.request())
    }

    /// The source row; true when what the grid is drawn from changed.
    pub fn ui(&mut self, ui: &mut Ui, ctx: &PanelCtx, commands: &mut Vec<Command>) -> bool {
        let before = (self.from_mixture, self.k, self.by_bic);
        ui.horizontal_wrapped(|ui| {
            ui.label("from:");
            ui.radio_value(&mut self.from_mixture, false, "prior")
                .on_hover_text("N(0, I): part of its mass lies where no code is (the map's holes)");
            ui.radio_value(&mut self.from_mixture, true, "mixture fitted to the codes")
                .on_hover_text(
                    "A Gaussian mixture (full covariance) fitted to the map's codes: samples land where the data is",
                );
            if self.from_mixture {
                ui.add_enabled(
                    !self.by_bic,
                    egui::DragValue::new(&mut self.k)
                        .range(1..=MAX_SLIDER_COMPONENTS)
                        .prefix("k = "),
                );
                ui.checkbox(&mut self.by_bic, "k by BIC")
                    .on_hover_text(format!(
                        "The number of components in 1..={DEFAULT_BIC_MAX} with the lowest Bayesian information criterion"
                    ));
                self.status_ui(ui, ctx);
            }
        });
        let version = ctx.ws.map.codes_version;
        if self.from_mixture
            && ctx.ws.map.codes.is_some()
            && !ctx.training
            && self.fits.ask(version, self.request())
        {
            commands.push(Command::AnalyseCodes(self.request()));
        }
        before != (self.from_mixture, self.k, self.by_bic)
    }

    fn status_ui(&self, ui: &mut Ui, ctx: &PanelCtx) {
        let version = ctx.ws.map.codes_version;
        match self.fits.progress(version, self.request()) {
            Progress::Ready(secs) => {
                if let Some(fit) = self.mixture(version) {
                    let m = &fit.mixture;
                    ui.small(format!(
                        "{} components fitted to {} codes in {secs:.1} s",
                        m.k(),
                        m.fitted_on
                    ));
                }
            }
            Progress::Working => {
                ui.spinner();
                ui.small("fitting…");
            }
            Progress::Failed => {
                ui.small("the fit failed (see the notice)");
            }
            Progress::Idle if ctx.training => {
                ui.small("fitted when training stops");
            }
            Progress::Idle => {}
        }
    }
}
