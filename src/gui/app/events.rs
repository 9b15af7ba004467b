//! How the window reacts to what its background threads report: loaded files, codes, decoded
//! pictures, training progress, dialog answers and errors. Drained in `logic()` with a time
//! budget, so the UI thread never waits.

use super::*;

impl ExplorerApp {
    pub(super) fn drain_events(&mut self) {
        let deadline = Instant::now() + EVENT_BUDGET;
        while Instant::now() < deadline {
            match self.events_rx.try_recv() {
                Ok(event) => self.handle(event),
                Err(_) => break,
            }
        }
        // Info notes fade after a while; errors stay until dismissed.
        self.session
            .notices
            .retain(|n| n.kind == NoticeKind::Error || n.at.elapsed() < Duration::from_secs(8));
    }

    pub(super) fn handle(&mut self, event: Event) {
        match event {
            Event::DatasetLoaded { data, path, secs } => {
                self.session.loading = self.session.loading.saturating_sub(1);
                self.set_dataset(data, absolute(path), secs);
            }
            Event::ModelLoaded { model, path } => {
                self.session.loading = self.session.loading.saturating_sub(1);
                self.set_model(model, Some(absolute(path)), false);
            }
            Event::Encoded {
                generation,
                codes,
                secs,
            } => {
                if generation == self.session.map.generation {
                    self.session.map.encoding = false;
                    self.session.map.encode_secs = secs;
                    self.session.neighbours_for.clear();
                    if self.session.timeline_shown.is_some() {
                        self.session.live_codes = Some(codes);
                        return;
                    }
                    self.session.map.set_codes(codes, &self.settings);
                    if self.session.startup_secs.is_none() {
                        self.session.startup_secs = Some(self.started.elapsed().as_secs_f64());
                    }
                    if self.session.probe.len() != self.latent() {
                        self.session.probe = vec![0.0; self.latent()];
                    }
                    self.refresh_selection_images();
                }
            }
            Event::Decoded {
                purpose,
                generation,
                images,
            } => {
                let shape = self.session.model.as_ref().map(|m| m.config().input);
                let Some(shape) = shape else { return };
                match purpose {
                    DecodePurpose::Strip if generation == self.session.interp.generation => {
                        self.session.interp.strip.set_strip(images, shape);
                    }
                    DecodePurpose::Manifold if generation == self.session.manifold_generation => {
                        self.session
                            .manifold
                            .set_tiles(images, shape, MANIFOLD_TILES);
                        self.session.manifold_bounds = self.session.manifold_asked;
                    }
                    DecodePurpose::Spread if generation == self.session.spread_generation => {
                        self.session.spread.set_strip(images, shape);
                    }
                    DecodePurpose::Grid if generation == self.session.generated.generation => {
                        let cols = crate::render::grid_columns(self.session.generated.codes.len());
                        self.session.generated.grid.set_grid(images, shape, cols);
                    }
                    _ => {}
                }
            }
            Event::Scored { generation, scores } => {
                // A stale answer is dropped; the next frame asks again if still wanted.
                self.session.anomalies.pending = false;
                if generation == self.session.map.generation {
                    self.session.anomalies.scores = Some(scores);
                    self.session.anomalies.scores_version += 1;
                    self.refresh_top_anomalies();
                }
            }
            Event::ModelSaved(path) => {
                self.session.model_unsaved = false;
                self.session.model_path = Some(path.clone());
                self.settings.model_path = Some(path.clone());
                self.info(format!("saved the model to {}", path.display()));
            }
            Event::Exported { kind, path } => {
                self.info(format!("exported {:?} to {}", kind, path.display()));
            }
            Event::DialogClosed { purpose, path } => {
                if let Some(path) = path {
                    self.dialog_answered(purpose, path);
                }
            }
            Event::DialogUnavailable(purpose) => {
                let instead = match purpose {
                    DialogPurpose::OpenDatasetFile | DialogPurpose::OpenDatasetFolder => {
                        "type the path in the Dataset panel or drop the file or folder onto the window"
                    }
                    DialogPurpose::OpenModel => {
                        "type the path in the Model panel or drop the .safetensors file onto the window"
                    }
                    _ => "type the path in the field next to the button",
                };
                self.session.dialogs_unavailable = true;
                self.error(format!(
                    "no file dialog is available on this desktop (no xdg-desktop-portal); {instead}"
                ));
            }
            Event::Train(ev) => self.training_event(ev),
            Event::TrainSnapshot { model, codes } => {
                self.session.model = Some(model);
                if let Some(codes) = codes {
                    self.record_timeline(&codes);
                    if self.session.timeline_shown.is_some() {
                        // Replaying: keep the new codes aside until "Live".
                        self.session.live_codes = Some(codes);
                        return;
                    }
                    self.session.map.set_codes(codes, &self.settings);
                    // New codes: the scores and the neighbours are stale.
                    self.session.map.generation += 1;
                    self.session.neighbours_for.clear();
                }
                self.after_model_change();
            }
            Event::TrainDone { model, result } => {
                self.trainer = None;
                self.session.training.paused = false;
                self.session.model = Some(model);
                self.session.model_unsaved = true;
                match result {
                    Ok(s) if s.stopped => self.info(format!(
                        "training stopped after {} complete epochs",
                        s.epochs_completed
                    )),
                    Ok(s) => self.info(format!(
                        "training finished: {} epochs in {:.1} s",
                        s.epochs_completed, s.elapsed_secs
                    )),
                    Err(e) => self.error(e),
                }
                self.request_encode();
                self.after_model_change();
            }
            Event::TrainCrashed(reason) => {
                self.trainer = None;
                self.session.training.paused = false;
                self.error(format!(
                    "training stopped by an internal error ({reason}); the model is as of the last update shown"
                ));
            }
            Event::Error(text) => {
                // A failed load still counts as finished loading.
                if text.starts_with("could not open") {
                    self.session.loading = self.session.loading.saturating_sub(1);
                }
                self.error(text);
            }
        }
    }

    pub(super) fn training_event(&mut self, ev: TrainEvent) {
        let t = &mut self.session.training;
        match ev {
            TrainEvent::Started(info) => {
                t.info = Some(info);
                t.started_at = Some(Instant::now());
            }
            TrainEvent::Step(s) => {
                let x = t.steps.last().map(|p| p[0]).unwrap_or(0.0) + 1.0;
                t.steps
                    .push([x, s.loss as f64, s.recon as f64, s.kl as f64]);
                t.last_step = Some(s);
            }
            TrainEvent::Epoch(e) => {
                let x = t.steps.last().map(|p| p[0] as usize).unwrap_or(0);
                t.epochs.push((x, e));
            }
            TrainEvent::Paused => t.paused = true,
            TrainEvent::Resumed => t.paused = false,
            TrainEvent::Finished(_) | TrainEvent::Failed(_) => {}
        }
    }

    pub(super) fn dialog_answered(&mut self, purpose: DialogPurpose, path: PathBuf) {
        match purpose {
            DialogPurpose::OpenDatasetFile | DialogPurpose::OpenDatasetFolder => {
                self.apply(Command::OpenDataset(path))
            }
            DialogPurpose::OpenModel => self.apply(Command::OpenModel(path)),
            DialogPurpose::SaveModel => self.apply(Command::SaveModelTo(path)),
            DialogPurpose::Export(kind) => match self.export_contents(kind, &path) {
                Ok(contents) => self.jobs.submit(Job::WriteFile {
                    kind,
                    path,
                    contents,
                }),
                Err(e) => self.error(format!("nothing to export: {e}")),
            },
        }
    }

    pub(super) fn export_contents(
        &self,
        kind: ExportKind,
        path: &std::path::Path,
    ) -> Result<ExportContents, String> {
        let scale = self.settings.export_scale.clamp(1, 32);
        let s = &self.session;
        let png = |view: &ImageView| -> Result<ExportContents, String> {
            view.picture(scale)
                .map(ExportContents::Png)
                .ok_or_else(|| "that picture is empty".to_string())
        };
        match kind {
            ExportKind::Preview => png(&s.preview),
            ExportKind::Strip => png(&s.interp.strip),
            ExportKind::Grid => png(&s.generated.grid),
            ExportKind::Map => {
                let data = s.data.as_ref().ok_or("no dataset")?;
                s.map
                    .render_png(data, 512 * scale.min(8))
                    .map(ExportContents::Png)
                    .ok_or_else(|| "the map is empty".to_string())
            }
            ExportKind::Codes => {
                let data = s.data.as_ref().ok_or("no dataset")?;
                s.map
                    .codes_csv(data)
                    .map(ExportContents::Text)
                    .ok_or_else(|| "the map has no codes yet".to_string())
            }
            ExportKind::CodesNumpy => {
                let data = s.data.as_ref().ok_or("no dataset")?;
                let codes = s.map.codes.as_ref().ok_or("the map has no codes yet")?;
                let labels: Option<Vec<i64>> = data
                    .labels()
                    .map(|all| s.map.indices.iter().map(|&i| all[i] as i64).collect());
                crate::latent::numpy_files(path, codes, &s.map.indices, labels.as_deref())
                    .map(ExportContents::Files)
                    .map_err(|e| e.to_string())
            }
        }
    }
}
