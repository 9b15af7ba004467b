//! Training steps through candle's autograd, for what the hand-fused steps do not cover: any
//! model on a GPU (and, for comparisons, any model under LATENT_EXPLORER_TRAINER=autograd). The epochs around the steps are `run_epochs` in
//! `mod.rs`, shared with the fused trainer; a step whose loss or gradients are not finite is
//! never applied.

use super::{StepSums, Stepper, TrainConfig};
use crate::error::Result;
use crate::model::Model;
use candle_core::Tensor;
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

/// candle's Adam (AdamW without weight decay) over the model's own variables.
pub(super) struct AutogradStepper {
    optimizer: AdamW,
}

impl AutogradStepper {
    pub fn new(model: &Model, cfg: &TrainConfig) -> Result<Self> {
        let vars = model.vars().into_iter().map(|(_, v)| v).collect();
        let optimizer = AdamW::new(
            vars,
            ParamsAdamW {
                lr: cfg.learning_rate,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                // Plain Adam, as the fused trainer and the PyTorch reference use.
                weight_decay: 0.0,
            },
        )?;
        Ok(Self { optimizer })
    }
}

impl Stepper for AutogradStepper {
    /// One forward and backward pass and, when everything is finite, one Adam step.
    fn step(
        &mut self,
        model: &Model,
        x: &[f32],
        cond: &[f32],
        eps: &[f32],
        n: usize,
        beta: f64,
    ) -> Result<std::result::Result<StepSums, f32>> {
        let device = model.device();
        let x = Tensor::from_slice(x, (n, x.len() / n), device)?;
        let eps = Tensor::from_slice(eps, (n, model.latent()), device)?;
        let cond = match model.classes() {
            Some(classes) => Some(Tensor::from_slice(cond, (n, classes), device)?),
            None => None,
        };
        let losses = model.vae().losses(&x, cond.as_ref(), &eps)?;
        let recon = losses.recon.sum_all()?;
        let kl = losses.kl.sum_all()?;
        // The batch sum, as the fused trainer (and the PyTorch reference) optimise.
        let loss = (&recon + (&kl * beta)?)?;
        let loss_v = loss.to_scalar::<f32>()?;
        if !loss_v.is_finite() {
            return Ok(Err(loss_v));
        }
        let grads = loss.backward()?;
        for (_, var) in model.vars() {
            if let Some(g) = grads.get(var.as_tensor())
                && !g.sqr()?.sum_all()?.to_scalar::<f32>()?.is_finite()
            {
                return Ok(Err(f32::NAN));
            }
        }
        self.optimizer.step(&grads)?;
        model.mark_weights_changed();
        Ok(Ok(StepSums {
            recon: recon.to_scalar::<f32>()? as f64,
            kl: kl.to_scalar::<f32>()? as f64,
        }))
    }

    /// The optimiser updates the model's variables in place: nothing to copy.
    fn sync(&mut self, _: &Model) -> Result<()> {
        Ok(())
    }
}
