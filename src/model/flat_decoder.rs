//! A conv model's decoder laid out for the CPU kernels once and kept beside the model, so that
//! decoding one code after another (a slider dragged, the pointer over the map) pays for the
//! products only: candle's path goes through a dozen small tensor ops per layer, and laying the
//! weights out afresh costs about as much as the decode itself.
//!
//! The layout is only valid for the weights it was made from. A model's weights can change in
//! place (training writes them back through their variables), so the model counts changes in
//! `weights_version` and the cache remembers the count it was built at.

use super::Model;
use super::conv_flat::{ConvForward, FlatConvNet};
use crate::error::Result;
use gemm::Parallelism;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Rows at or below which one thread decodes (spreading so little over threads costs more
/// than it saves: measured on the 248k-parameter conv model).
const ROWS_ON_ONE_THREAD: usize = 1;

/// Rows decoded at a time: the default conv model's patches and maps take about 150 KB a row,
/// so the buffers kept with a model stay near 5 MB however many codes it decodes (a whole
/// dataset's reconstructions at once would want gigabytes), and stay in the caches while the
/// products go over them. `sample --count 4096` with a conv model (AMD EPYC Zen 4, 2
/// threads): 0.26 s in all with 32 rows, 0.46-0.58 s with 256, and 40 MB less memory.
const ROWS_PER_BATCH: usize = 32;

/// The decoder of one version of a model's weights, with its buffers.
struct FlatDecoder {
    version: u64,
    net: FlatConvNet,
    fwd: ConvForward,
}

/// What a [`Model`] keeps for its flat conv decoder.
#[derive(Default)]
pub(super) struct FlatDecoderCache {
    slot: Mutex<Option<FlatDecoder>>,
}

impl FlatDecoderCache {
    /// Images in [0, 1] for `n` codes, or None when another thread is decoding with the cached
    /// decoder right now (the caller then takes the general path rather than wait).
    pub fn decode(&self, model: &Model, z: &[f32], n: usize) -> Result<Option<Vec<f32>>> {
        let Ok(mut slot) = self.slot.try_lock() else {
            return Ok(None);
        };
        let version = model.weights_version();
        if slot.as_ref().is_none_or(|d| d.version != version) {
            *slot = Some(FlatDecoder {
                version,
                net: FlatConvNet::from_model(model)?,
                fwd: ConvForward::default(),
            });
        }
        let Some(d) = slot.as_mut() else {
            return Ok(None);
        };
        let threads = rayon::current_num_threads();
        let (l, d_len) = (model.latent(), model.config.input.len());
        let mut images = Vec::with_capacity(n * d_len);
        // In batches: the buffers kept are a batch's worth (a few MB), not a whole dataset's.
        for codes in z[..n * l].chunks(ROWS_PER_BATCH * l) {
            let rows = codes.len() / l;
            let par = if rows <= ROWS_ON_ONE_THREAD || threads < 2 {
                Parallelism::None
            } else {
                Parallelism::Rayon(threads)
            };
            d.fwd.decode(&d.net, codes, rows, par);
            images.extend(
                d.fwd.logits[..rows * d_len]
                    .iter()
                    .map(|&x| 1.0 / (1.0 + (-x).exp())),
            );
        }
        Ok(Some(images))
    }
}

/// Counts changes to a model's weights.
#[derive(Default)]
pub(super) struct WeightsVersion(AtomicU64);

impl WeightsVersion {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use crate::data::ImageShape;
    use crate::model::{Model, VaeConfig};
    use candle_core::Tensor;

    /// The general (candle) path's images for codes z.
    fn through_candle(model: &Model, z: &[f32]) -> Vec<f32> {
        let l = model.latent();
        let zt = Tensor::from_slice(z, (z.len() / l, l), &candle_core::Device::Cpu).unwrap();
        let images = model.vae().decode(&zt, None).unwrap();
        images.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    fn close(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn the_kept_decoder_draws_what_candle_draws_and_follows_weights_written_in_place() {
        for (shape, latent) in [
            (ImageShape::new(28, 28, 1), 16),
            (ImageShape::new(20, 24, 3), 4),
        ] {
            let model = Model::new_random(VaeConfig::conv(shape, latent), 3).unwrap();
            let most = super::ROWS_PER_BATCH + 5;
            let z: Vec<f32> = (0..most * latent)
                .map(|k| (k as f32 * 0.37).sin())
                .collect();
            for rows in [1, 3, super::ROWS_PER_BATCH + 5] {
                let codes = &z[..rows * latent];
                let kept = model.decode(codes).unwrap();
                assert!(close(&kept, &through_candle(&model, codes)) < 1e-5);
                // Twice: the second call reuses the decoder.
                assert_eq!(model.decode(codes).unwrap(), kept);
            }
            // Training writes the weights through their variables: the next decode sees them.
            let before = model.decode(&z[..latent]).unwrap();
            let version = model.weights_version();
            for (name, var) in model.vars() {
                if name.ends_with(".bias") {
                    let shifted = (var.as_tensor() + 0.5).unwrap();
                    var.set(&shifted).unwrap();
                }
            }
            assert!(model.weights_version() > version);
            let after = model.decode(&z[..latent]).unwrap();
            assert!(
                close(&after, &before) > 1e-3,
                "the old weights' decoder was kept"
            );
            assert!(close(&after, &through_candle(&model, &z[..latent])) < 1e-5);
        }
    }
}
