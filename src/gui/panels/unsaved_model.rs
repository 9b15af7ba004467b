//! Asked before an unsaved, trained model is replaced (another model opened, a new one made, a
//! session or the recovered model opened): the training in it would otherwise be gone with one
//! click. The recovery file keeps only the latest run, so the next run would overwrite it.

use crate::gui::command::Command;
use crate::gui::dialogs::DialogPurpose;

/// A command held back until the user says what becomes of the unsaved model.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldCommand {
    pub command: Command,
    /// What it does, as the prompt says it ("opening another model").
    pub action: String,
    /// Epochs trained since the model was opened or saved.
    pub epochs: usize,
}

#[derive(Default)]
pub struct ReplacePrompt {
    pub held: Option<HeldCommand>,
}

impl ReplacePrompt {
    /// A modal over the window while a command is held: save first, replace, or keep working.
    pub fn ui(
        &mut self,
        ctx: &egui::Context,
        dialogs_unavailable: bool,
        commands: &mut Vec<Command>,
    ) {
        let Some(held) = &self.held else { return };
        let mut close = false;
        let response =
            egui::Modal::new(egui::Id::unique("replace-unsaved-model")).show(ctx, |ui| {
                ui.set_max_width(420.0);
                ui.heading("The model is not saved");
                ui.label(format!(
                    "It holds {} of training that is not saved to a file. {} replaces it.",
                    epochs_text(held.epochs),
                    capitalised(&held.action),
                ));
                if dialogs_unavailable {
                    ui.label("To keep it, type a file name under Model path and save it first.");
                }
                ui.add_space(6.0);
                ui.horizontal(|ui| {
                    if !dialogs_unavailable && ui.button("Save model as…").clicked() {
                        commands.push(Command::Dialog(DialogPurpose::SaveModel));
                        close = true;
                    }
                    if ui.button("Discard it").clicked() {
                        commands.push(Command::Replace(Box::new(held.command.clone())));
                        close = true;
                    }
                    if ui.button("Cancel").clicked() {
                        close = true;
                    }
                });
            });
        // Escape or a click beside the prompt cancels, as Cancel does.
        if close || response.should_close() {
            self.held = None;
        }
    }
}

fn epochs_text(epochs: usize) -> String {
    match epochs {
        0 => "part of an epoch".to_string(),
        1 => "an epoch".to_string(),
        n => format!("{n} epochs"),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
