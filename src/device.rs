//! Where the tensor maths runs: the CPU by default; a CUDA or Metal GPU when the program was
//! built with the `cuda` or `metal` cargo feature and the GPU is there. Chosen once, at start,
//! and shown in the window's top bar and by `latent-explorer info`.
//!
//! `LATENT_EXPLORER_DEVICE` = `cpu`, `cuda`, `metal` or `auto` (the default: the GPU of the
//! feature built in, else the CPU) overrides the choice. A GPU that cannot be opened falls back
//! to the CPU with the reason kept for the user.

use crate::kernels::Simd;
use candle_core::Device;
use std::sync::OnceLock;

pub struct ComputeDevice {
    pub device: Device,
    /// "CPU (AVX-512, 2 threads)", "CUDA GPU 0", "Metal GPU 0".
    pub description: String,
    /// Why the asked-for GPU is not used, when it is not.
    pub fallback_reason: Option<String>,
}

impl ComputeDevice {
    pub fn is_cpu(&self) -> bool {
        self.device.is_cpu()
    }
}

fn cpu(fallback_reason: Option<String>) -> ComputeDevice {
    ComputeDevice {
        device: Device::Cpu,
        description: format!(
            "CPU ({}, {} threads)",
            Simd::detect().name(),
            rayon::current_num_threads()
        ),
        fallback_reason,
    }
}

fn gpu(kind: &str) -> ComputeDevice {
    let (opened, built_in) = match kind {
        "cuda" => (Device::new_cuda(0), cfg!(feature = "cuda")),
        _ => (Device::new_metal(0), cfg!(feature = "metal")),
    };
    let name = if kind == "cuda" { "CUDA" } else { "Metal" };
    if !built_in {
        return cpu(Some(format!(
            "{name} asked for, but this build has no {name} support (build with --features {kind})"
        )));
    }
    match opened {
        Ok(device) => ComputeDevice {
            device,
            description: format!("{name} GPU 0"),
            fallback_reason: None,
        },
        Err(e) => cpu(Some(format!("{name} GPU 0 could not be opened: {e}"))),
    }
}

/// The device for a request ("cpu", "cuda", "metal", "auto"; None = "auto").
pub fn choose(request: Option<&str>) -> ComputeDevice {
    match request.map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "auto") => {
            if cfg!(feature = "cuda") {
                gpu("cuda")
            } else if cfg!(feature = "metal") {
                gpu("metal")
            } else {
                cpu(None)
            }
        }
        Some("cpu") => cpu(None),
        Some(kind @ ("cuda" | "metal")) => gpu(kind),
        Some(other) => cpu(Some(format!(
            "unknown device '{other}' in LATENT_EXPLORER_DEVICE (cpu, cuda, metal or auto)"
        ))),
    }
}

/// The device chosen for this process (from `LATENT_EXPLORER_DEVICE`, once).
pub fn compute() -> &'static ComputeDevice {
    static CHOSEN: OnceLock<ComputeDevice> = OnceLock::new();
    CHOSEN.get_or_init(|| choose(std::env::var("LATENT_EXPLORER_DEVICE").ok().as_deref()))
}
