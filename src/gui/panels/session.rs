//! Sessions in the window: the top bar's Session menu (Open, Save, Save as, with Ctrl+O,
//! Ctrl+S and Ctrl+Shift+S), and the left panel's Session section: the session's file, a
//! typed path for when no file dialog can be shown, and the bookmarks of views (add, go to,
//! rename, delete). Saving and opening are the app's ([`SessionCommand`]); the bookmark list
//! is this panel's own state (saved in the session file).

use super::{Command, PanelCtx};
use crate::session::{Bookmark, ProjectionKind};
use egui::{Key, KeyboardShortcut, Modifiers, Ui};
use std::path::PathBuf;

/// What the session controls ask the app for.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionCommand {
    /// "Open session…": a dialog, then [`SessionCommand::OpenFile`].
    Open,
    /// Save to the session's file (a dialog when it has none yet).
    Save,
    /// "Save session as…": a dialog, then [`SessionCommand::SaveTo`].
    SaveAs,
    OpenFile(PathBuf),
    SaveTo(PathBuf),
    /// A bookmark of the map's view as it is now.
    AddBookmark,
    /// Show bookmark `k`'s projection and view.
    GoToBookmark(usize),
}

pub const OPEN_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
pub const SAVE_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
pub const SAVE_AS_SHORTCUT: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::S);

/// What the window shows about the session (kept by the app, read by the panels).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionStatus {
    /// The session's file (None: not saved or opened yet).
    pub path: Option<PathBuf>,
    /// Something the session holds changed since it was saved or opened.
    pub dirty: bool,
    /// A save or an open is in progress.
    pub busy: bool,
}

#[derive(Default)]
pub struct SessionPanel {
    pub bookmarks: Vec<Bookmark>,
    /// The bookmark being renamed and the name typed so far.
    renaming: Option<(usize, String)>,
    /// The rename field takes the keyboard when it appears.
    focus_rename: bool,
    /// A session path typed by hand (when no dialog can be shown).
    typed_path: String,
}

impl SessionPanel {
    /// Ctrl+O, Ctrl+S, Ctrl+Shift+S (Cmd on a Mac), wherever the focus is.
    pub fn handle_keys(&mut self, ctx: &egui::Context, commands: &mut Vec<Command>) {
        let asked = ctx.input_mut(|i| {
            // The most specific first: Ctrl+S alone would also match Ctrl+Shift+S.
            if i.consume_shortcut(&SAVE_AS_SHORTCUT) {
                Some(SessionCommand::SaveAs)
            } else if i.consume_shortcut(&SAVE_SHORTCUT) {
                Some(SessionCommand::Save)
            } else if i.consume_shortcut(&OPEN_SHORTCUT) {
                Some(SessionCommand::Open)
            } else {
                None
            }
        });
        if let Some(c) = asked {
            commands.push(Command::Session(c));
        }
    }

    /// The top bar's "Session" menu.
    pub fn menu_ui(ui: &mut Ui, ctx: &PanelCtx, commands: &mut Vec<Command>) {
        // The session's name is in the window's title; here only whether it has unsaved
        // changes (a long file name must not widen the top bar).
        let label = if ctx.ws.session.dirty {
            "Session *"
        } else {
            "Session"
        };
        ui.menu_button(label, |ui| {
            let c = ui.ctx().clone();
            let item = |ui: &mut Ui, text: &str, shortcut: &KeyboardShortcut| {
                ui.add(egui::Button::new(text).shortcut_text(c.format_shortcut(shortcut)))
                    .clicked()
            };
            if item(ui, "Open session…", &OPEN_SHORTCUT) {
                commands.push(Command::Session(SessionCommand::Open));
            }
            if item(ui, "Save session", &SAVE_SHORTCUT) {
                commands.push(Command::Session(SessionCommand::Save));
            }
            if item(ui, "Save session as…", &SAVE_AS_SHORTCUT) {
                commands.push(Command::Session(SessionCommand::SaveAs));
            }
        });
    }

    /// The left panel's Session section: the file, the bookmarks.
    pub fn ui(&mut self, ui: &mut Ui, ctx: &PanelCtx, commands: &mut Vec<Command>) {
        egui::CollapsingHeader::new("Session and bookmarks")
            .default_open(true)
            .show(ui, |ui| {
                let status = &ctx.ws.session;
                match &status.path {
                    Some(p) => super::long_label(
                        ui,
                        format!(
                            "{}{}",
                            p.display(),
                            if status.dirty {
                                " (unsaved changes)"
                            } else {
                                ""
                            }
                        ),
                    ),
                    None => ui.label("Not saved as a session yet."),
                };
                ui.horizontal(|ui| {
                    if ui.button("Save").clicked() {
                        commands.push(Command::Session(SessionCommand::Save));
                    }
                    if ui.button("Save as…").clicked() {
                        commands.push(Command::Session(SessionCommand::SaveAs));
                    }
                    if ui.button("Open…").clicked() {
                        commands.push(Command::Session(SessionCommand::Open));
                    }
                    if status.busy {
                        ui.spinner();
                    }
                });
                if ctx.dialogs_unavailable {
                    let hint = "path to a session (.lxsession.json)";
                    ui.horizontal(|ui| {
                        let typed = ui.add(
                            egui::TextEdit::singleline(&mut self.typed_path)
                                .hint_text(hint)
                                .desired_width(170.0),
                        );
                        let path = PathBuf::from(self.typed_path.trim());
                        let has = !self.typed_path.trim().is_empty();
                        if ui.add_enabled(has, egui::Button::new("Open")).clicked()
                            || (has
                                && typed.lost_focus()
                                && ui.input(|i| i.key_pressed(Key::Enter)))
                        {
                            commands.push(Command::Session(SessionCommand::OpenFile(path.clone())));
                        }
                        if ui.add_enabled(has, egui::Button::new("Save")).clicked() {
                            commands.push(Command::Session(SessionCommand::SaveTo(path)));
                        }
                    });
                }
                ui.separator();
                self.bookmarks_ui(ui, ctx, commands);
            });
    }

    fn bookmarks_ui(&mut self, ui: &mut Ui, ctx: &PanelCtx, commands: &mut Vec<Command>) {
        let can_add = ctx.ws.map.codes.is_some();
        if ui
            .add_enabled(can_add, egui::Button::new("Bookmark this view"))
            .on_disabled_hover_text("The map has no points yet")
            .clicked()
        {
            commands.push(Command::Session(SessionCommand::AddBookmark));
        }
        if self.bookmarks.is_empty() {
            ui.small("No bookmarks: a bookmark keeps the map's view and projection.");
            return;
        }
        let mut delete = None;
        for k in 0..self.bookmarks.len() {
            ui.horizontal(|ui| {
                if let Some((j, text)) = &mut self.renaming
                    && *j == k
                {
                    let edit = ui.add(egui::TextEdit::singleline(text).desired_width(130.0));
                    if std::mem::take(&mut self.focus_rename) {
                        edit.request_focus();
                    }
                    let done = ui.button("OK").clicked()
                        || (edit.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)));
                    if done {
                        let name = text.trim().to_string();
                        if !name.is_empty() {
                            self.bookmarks[k].name = name;
                        }
                        self.renaming = None;
                    }
                    return;
                }
                let b = &self.bookmarks[k];
                if ui
                    .button(&b.name)
                    .on_hover_text(format!(
                        "Go to this view ({})",
                        projection_word(b.projection.kind)
                    ))
                    .clicked()
                {
                    commands.push(Command::Session(SessionCommand::GoToBookmark(k)));
                }
                if ui.small_button("Rename").clicked() {
                    self.renaming = Some((k, b.name.clone()));
                    self.focus_rename = true;
                }
                if ui.small_button("Delete").clicked() {
                    delete = Some(k);
                }
            });
        }
        if let Some(k) = delete {
            self.bookmarks.remove(k);
            self.renaming = None;
        }
    }

    /// A bookmark name not yet used: "View 1", "View 2", ...
    pub fn next_name(&self) -> String {
        (1..)
            .map(|n| format!("View {n}"))
            .find(|name| self.bookmarks.iter().all(|b| &b.name != name))
            .unwrap_or_default()
    }
}

fn projection_word(kind: ProjectionKind) -> &'static str {
    match kind {
        ProjectionKind::Pca => "PCA",
        ProjectionKind::Axes => "two latent axes",
        ProjectionKind::Tsne => "t-SNE",
        ProjectionKind::Umap => "UMAP",
        ProjectionKind::Semantic => "semantic axes",
    }
}
