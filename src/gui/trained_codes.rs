//! The map's codes during a training run, taken from the run itself.
//!
//! Every training step computes the posterior of each image in its batch on the way to the
//! loss, so over an epoch the trainer has computed a code for every training image. Re-encoding
//! those images for the map as well doubled that work and, beside a trainer that keeps both
//! cores busy, cost the run about a seventh of its rate (an Intel Xeon, 70,000 MNIST points:
//! the window kept a median 0.86 of the command line's rate). So while a run goes on, the map's
//! training images take the codes their last step gave them, and only the images the trainer
//! never sees (the held-out ones) are encoded, by the snapshot encoder.
//!
//! The price: a training image's code is from the weights of the step that last saw it, at
//! most an epoch old, so a map drawn mid-epoch mixes weights up to an epoch apart (in the first
//! epoch, images not reached yet keep the codes they had when the run started). When the run
//! ends the window re-encodes the whole map with the final weights, so the map a user analyses
//! or exports after training is exact.

use crate::model::Codes;
use crate::train::BatchCodes;
use std::sync::Arc;

/// Codes of the map's rows for a snapshot: the training rows from the run, the others (in
/// `encode_rows`) to be encoded with the snapshot's weights.
pub struct TrainedCodes {
    /// One code per map row, in the map's order.
    pub codes: Codes,
    /// The map rows the trainer does not see, in increasing order.
    pub encode_rows: Arc<Vec<usize>>,
}

/// The map's codes as the running trainer last computed them.
pub struct MapCodeBook {
    /// Map row of each dataset index (`NOT_ON_MAP` when the map does not show it).
    row_of: Vec<u32>,
    codes: Codes,
    /// Map rows the trainer does not see.
    held_out: Arc<Vec<usize>>,
    /// Map rows without a code yet (with no codes to start from, until the trainer has seen
    /// every training image once), and which those are.
    missing: usize,
    has_code: Vec<bool>,
}

const NOT_ON_MAP: u32 = u32::MAX;

impl MapCodeBook {
    /// A book for the map of `map_indices` (dataset indices, of a dataset of `data_len`
    /// samples) whose training images are `train_indices`. `start` (the map's codes when the
    /// run starts, if they are the current model's) gives every row a code from the first
    /// snapshot on; without it, snapshots wait until the trainer has seen every training image.
    pub fn new(
        data_len: usize,
        map_indices: &[usize],
        train_indices: &[usize],
        latent: usize,
        start: Option<&Codes>,
    ) -> Self {
        let mut row_of = vec![NOT_ON_MAP; data_len];
        for (row, &i) in map_indices.iter().enumerate() {
            if let Some(slot) = row_of.get_mut(i) {
                *slot = row as u32;
            }
        }
        let mut trained = vec![false; map_indices.len()];
        for &i in train_indices {
            if let Some(&row) = row_of.get(i).filter(|&&r| r != NOT_ON_MAP) {
                trained[row as usize] = true;
            }
        }
        let held_out: Vec<usize> = (0..map_indices.len()).filter(|&r| !trained[r]).collect();
        let start = start.filter(|c| c.latent == latent && c.len() == map_indices.len());
        let codes = match start {
            Some(c) => c.clone(),
            None => Codes {
                latent,
                mean: vec![0.0; map_indices.len() * latent],
                logvar: vec![0.0; map_indices.len() * latent],
            },
        };
        // Held-out rows never get a code from the trainer: they count as having one.
        let has_code: Vec<bool> = trained.iter().map(|&t| start.is_some() || !t).collect();
        let missing = has_code.iter().filter(|&&h| !h).count();
        Self {
            row_of,
            codes,
            held_out: Arc::new(held_out),
            missing,
            has_code,
        }
    }

    /// Takes a step's codes for the map's rows among its images.
    pub fn record(&mut self, batch: &BatchCodes<'_>) {
        let l = self.codes.latent;
        if batch.latent != l || batch.mean.len() < batch.indices.len() * l {
            return;
        }
        for (k, &i) in batch.indices.iter().enumerate() {
            let Some(&row) = self.row_of.get(i).filter(|&&r| r != NOT_ON_MAP) else {
                continue;
            };
            let row = row as usize;
            self.codes.set_row(row, batch.mean, batch.logvar, k);
            if !self.has_code[row] {
                self.has_code[row] = true;
                self.missing -= 1;
            }
        }
    }

    /// The codes for a snapshot, or None while some training row has no code yet (the
    /// snapshot encoder then encodes the whole map).
    pub fn snapshot(&self) -> Option<TrainedCodes> {
        (self.missing == 0).then(|| TrainedCodes {
            codes: self.codes.clone(),
            encode_rows: Arc::clone(&self.held_out),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch<'a>(indices: &'a [usize], mean: &'a [f32], logvar: &'a [f32]) -> BatchCodes<'a> {
        BatchCodes {
            indices,
            latent: 1,
            mean,
            logvar,
        }
    }

    #[test]
    fn training_rows_take_the_steps_codes_and_held_out_rows_are_left_to_the_encoder() {
        // Dataset of 6; the map shows 5, 3, 0, 1; training images 0, 1, 2, 5.
        let map = [5, 3, 0, 1];
        let mut book = MapCodeBook::new(6, &map, &[0, 1, 2, 5], 1, None);
        assert!(book.snapshot().is_none(), "no codes yet for rows 0, 2, 3");
        book.record(&batch(&[2, 5, 0], &[20.0, 50.0, 0.5], &[-2.0, -5.0, -0.5]));
        assert!(book.snapshot().is_none(), "image 1 not seen yet");
        book.record(&batch(&[1], &[10.0], &[-1.0]));
        let snap = book.snapshot().expect("every training row has a code");
        assert_eq!(*snap.encode_rows, vec![1], "image 3 is held out");
        assert_eq!(snap.codes.mean, vec![50.0, 0.0, 0.5, 10.0]);
        assert_eq!(snap.codes.logvar, vec![-5.0, 0.0, -0.5, -1.0]);
        // A later step overwrites.
        book.record(&batch(&[5], &[51.0], &[-5.1]));
        assert_eq!(book.snapshot().unwrap().codes.mean[0], 51.0);
    }

    #[test]
    fn codes_from_before_the_run_serve_until_the_trainer_reaches_each_image() {
        let start = Codes {
            latent: 1,
            mean: vec![1.0, 2.0, 3.0],
            logvar: vec![0.0; 3],
        };
        let mut book = MapCodeBook::new(3, &[0, 1, 2], &[0, 1], 1, Some(&start));
        assert_eq!(book.snapshot().unwrap().codes.mean, vec![1.0, 2.0, 3.0]);
        book.record(&batch(&[1], &[9.0], &[0.0]));
        let snap = book.snapshot().unwrap();
        assert_eq!(snap.codes.mean, vec![1.0, 9.0, 3.0]);
        assert_eq!(*snap.encode_rows, vec![2]);
        // Codes of another shape are not a start.
        let wrong = Codes {
            latent: 2,
            mean: vec![0.0; 6],
            logvar: vec![0.0; 6],
        };
        assert!(
            MapCodeBook::new(3, &[0, 1, 2], &[0, 1], 1, Some(&wrong))
                .snapshot()
                .is_none()
        );
    }
}
