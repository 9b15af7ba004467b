//! The resource budget: one place that knows how much memory and how many cores the machine
//! has, estimates what a request will cost, and refuses it *before* anything is allocated,
//! with one line naming the figure and what to change.
//!
//! Memory is what the kernel says is available (`MemAvailable` in /proc/meminfo, else the
//! total from sysconf), lowered to the process's address-space limit (`ulimit -v`) when one is
//! set. `LATENT_EXPLORER_MEMORY` overrides it (bytes, or with a K/M/G suffix), for tests and
//! for users who want a tighter cap. Every estimate uses checked arithmetic: a product that
//! overflows is over budget, never a panic or a wrapped small number.
//!
//! The same module holds the small guards on files: only regular files are read (not
//! `/dev/zero`, a FIFO or a folder), and only as far as their headers say.

use crate::data::ImageShape;
use crate::error::{Error, Result};
use crate::model::{Architecture, VaeConfig};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Environment variable that sets the memory budget (bytes, or `512M`, `2G`, ...).
pub const MEMORY_ENV: &str = "LATENT_EXPLORER_MEMORY";

/// The share of the available memory one request may use: the rest is for what is already
/// loaded (the window keeps a dataset and a model while it loads the next) and for the system.
const SHARE_PERCENT: u64 = 80;

/// Used when nothing can be read about the machine's memory.
const FALLBACK_MEMORY: u64 = 2 << 30;

/// The batch size a model's training cost is estimated for when none is given (the default).
pub const DEFAULT_BATCH: usize = 128;

/// What this machine offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Bytes one request may use.
    pub memory: u64,
    /// Where the figure came from, for messages ("available memory", "LATENT_EXPLORER_MEMORY").
    pub source: &'static str,
    /// Cores this process may run on.
    pub cores: usize,
}

/// "3.5 GiB", "512 MiB", "12 KiB", "100 bytes".
pub fn human(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (unit, size) in UNITS {
        if bytes >= size {
            let v = bytes as f64 / size as f64;
            return if v >= 100.0 {
                format!("{v:.0} {unit}")
            } else {
                format!("{v:.1} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
}

/// Parses `123`, `64K`, `512M`, `2G`, `1.5G` (binary units).
pub fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 1u64 << 10),
        (i, 'm' | 'M') => (&s[..i], 1 << 20),
        (i, 'g' | 'G') => (&s[..i], 1 << 30),
        (i, 't' | 'T') => (&s[..i], 1 << 40),
        _ => (s, 1),
    };
    let v: f64 = num.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0 && v * (mul as f64) < u64::MAX as f64)
        .then_some((v * mul as f64) as u64)
}

fn meminfo_field(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line[key.len()..]
        .trim()
        .trim_start_matches(':')
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    kb.checked_mul(1024)
}

/// Bytes of memory the machine has free for us, before the share is taken.
fn machine_memory() -> Option<u64> {
    if let Ok(text) = std::fs::read_to_string("/proc/meminfo")
        && let Some(v) =
            meminfo_field(&text, "MemAvailable").or_else(|| meminfo_field(&text, "MemTotal"))
    {
        return Some(v);
    }
    #[cfg(unix)]
    {
        // SAFETY: sysconf only reads system constants.
        let (pages, size) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        if pages > 0 && size > 0 {
            return (pages as u64).checked_mul(size as u64);
        }
    }
    None
}

/// The address-space limit (`ulimit -v`), when one is set.
fn address_space_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we pass.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } == 0;
        if ok && lim.rlim_cur != libc::RLIM_INFINITY {
            // rlim_t is u64 on Linux but not everywhere.
            #[allow(clippy::unnecessary_cast)]
            return Some(lim.rlim_cur as u64);
        }
    }
    None
}

impl Budget {
    /// The budget now: the environment override, else this machine's available memory (and
    /// address-space limit).
    pub fn current() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        if let Some(v) = std::env::var(MEMORY_ENV).ok().and_then(|s| parse_bytes(&s)) {
            return Self {
                memory: v,
                source: MEMORY_ENV,
                cores,
            };
        }
        let (mut memory, mut source) = match machine_memory() {
            Some(m) => (m / 100 * SHARE_PERCENT, "the available memory"),
            None => (FALLBACK_MEMORY, "the assumed memory"),
        };
        if let Some(limit) = address_space_limit() {
            // Code, stacks and the allocator's reserves live in the same address space; a
            // request may take at most half of what the limit leaves.
            let usable = limit / 2;
            if usable < memory {
                memory = usable;
                source = "the address-space limit (ulimit -v)";
            }
        }
        Self {
            memory,
            source,
            cores,
        }
    }

    /// Refuses `what` when it needs more than the budget. `needed` None means the size
    /// arithmetic overflowed (certainly too much). `advice` says what to change.
    pub fn check(&self, what: &str, needed: Option<u64>, advice: &str) -> Result<()> {
        match needed {
            Some(n) if n <= self.memory => Ok(()),
            _ => Err(Error::OverBudget {
                what: what.to_string(),
                needed: needed
                    .map(human)
                    .unwrap_or_else(|| "more than 16 EiB".into()),
                available: format!("{} ({})", human(self.memory), self.source),
                advice: advice.to_string(),
            }),
        }
    }

    /// A dataset of `n` images of `shape` held as bytes, plus `transient` bytes the loader
    /// needs while reading (the file's values before they become pixels).
    pub fn check_dataset(
        &self,
        path: &Path,
        n: u64,
        shape: ImageShape,
        transient: u64,
        advice: &str,
    ) -> Result<()> {
        let needed = dataset_bytes(n, shape).and_then(|b| b.checked_add(transient));
        self.check(
            &format!(
                "{}: {n} images of {}x{}x{}",
                path.display(),
                shape.height,
                shape.width,
                shape.channels
            ),
            needed,
            advice,
        )
    }

    /// A model of `config` trained with batches of `batch`: weights, gradients and Adam's two
    /// moments, one gradient copy per training thread, and the activations of a batch.
    pub fn check_model(&self, config: &VaeConfig, batch: usize) -> Result<()> {
        let needed = model_training_bytes(config, batch, self.cores);
        let advice = match config.arch {
            Architecture::Mlp => {
                "use smaller images (--image-size), fewer or narrower hidden layers (--hidden), or the conv model (--arch conv)"
            }
            Architecture::Conv => {
                "use smaller images (--image-size), fewer channels (--channels) or a smaller --batch-size"
            }
        };
        self.check(
            &format!(
                "a model of {} values in, {}",
                config.input.len(),
                layers(config)
            ),
            needed,
            advice,
        )
    }

    /// A picture of `width` x `height` pixels of `channels` bytes (checked in u64: no u32
    /// overflow).
    pub fn check_picture(&self, width: u64, height: u64, channels: u64) -> Result<()> {
        let needed = width
            .checked_mul(height)
            .and_then(|p| p.checked_mul(channels))
            // The raw picture and its PNG encoding (at most about the same size again).
            .and_then(|b| b.checked_mul(2));
        self.check(
            &format!("a picture of {width}x{height} pixels"),
            needed,
            "use a smaller --scale, fewer images or fewer --steps",
        )
    }

    /// `frames` decoded images of `shape` (f32) and their codes of `latent` dims.
    pub fn check_frames(&self, frames: u64, shape: ImageShape, latent: usize) -> Result<()> {
        let per = (shape.len() as u64)
            .checked_add(latent as u64)
            .and_then(|v| v.checked_mul(4));
        let needed = per.and_then(|p| p.checked_mul(frames));
        self.check(
            &format!("{frames} decoded frames of {shape}"),
            needed,
            "use fewer anchors (--via) or fewer --steps",
        )
    }
}

/// Bytes of `n` images of `shape` stored one byte per value.
pub fn dataset_bytes(n: u64, shape: ImageShape) -> Option<u64> {
    (shape.height as u64)
        .checked_mul(shape.width as u64)?
        .checked_mul(shape.channels as u64)?
        .checked_mul(n)
}

fn layers(config: &VaeConfig) -> String {
    let widths: Vec<String> = config.hidden.iter().map(|h| h.to_string()).collect();
    match config.arch {
        Architecture::Mlp => format!("hidden layers {}", widths.join(",")),
        Architecture::Conv => format!("conv channels {}", widths.join(",")),
    }
}

/// The parameter count, computed with checked arithmetic from the config's layer shapes
/// (the config's own count multiplies unchecked).
pub fn parameter_count(config: &VaeConfig) -> Option<u64> {
    match config.arch {
        Architecture::Mlp => {
            let mut widths = vec![config.input.len() as u64];
            widths.extend(config.hidden.iter().map(|&h| h as u64));
            let latent = config.latent as u64;
            let linear = |i: u64, o: u64| i.checked_mul(o)?.checked_add(o);
            let mut total = 0u64;
            for w in widths.windows(2) {
                // Encoder layer and its mirror in the decoder.
                total = total
                    .checked_add(linear(w[0], w[1])?)?
                    .checked_add(linear(w[1], w[0])?)?;
            }
            let last = *widths.last()?;
            // Mean and logvar heads, and the decoder's first layer from the code.
            total = total
                .checked_add(linear(last, latent)?.checked_mul(2)?)?
                .checked_add(linear(latent, last)?)?;
            Some(total)
        }
        // Conv models: the config's validation bounds the geometry, so the shapes are small
        // enough to multiply; still checked.
        Architecture::Conv => {
            if config.validate().is_err() {
                return None;
            }
            config.param_shapes().iter().try_fold(0u64, |acc, (_, s)| {
                let n = s.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64))?;
                acc.checked_add(n)
            })
        }
    }
}

/// Bytes a training run of `config` needs, for batches of `batch` on `threads` threads.
pub fn model_training_bytes(config: &VaeConfig, batch: usize, threads: usize) -> Option<u64> {
    let params = parameter_count(config)?;
    // Weights, Adam's two moments, the summed gradients, and one gradient per thread's shard.
    let param_copies = 4u64.checked_add(threads.max(1) as u64)?;
    let weights = params.checked_mul(4)?.checked_mul(param_copies)?;
    let batch = batch.max(1) as u64;
    let input = config.input.len() as u64;
    let per_sample_values = match config.arch {
        Architecture::Mlp => {
            // Input, logits and their gradient, every hidden activation and its gradient, both
            // ways.
            let hidden: u64 = config
                .hidden
                .iter()
                .try_fold(0u64, |a, &h| a.checked_add(h as u64))?;
            input.checked_mul(3)?.checked_add(hidden.checked_mul(4)?)?
        }
        Architecture::Conv => {
            // Feature maps at every layer plus the unfolded (im2col) patches of the widest one,
            // kept for the backward pass: a generous multiple of the padded input.
            let g = config.conv_geometry().ok()?;
            let padded = (g.padded_height as u64)
                .checked_mul(g.padded_width as u64)?
                .checked_mul(config.input.channels as u64)?;
            let widest = config.hidden.iter().copied().max().unwrap_or(1) as u64;
            // After the first stride-2 layer a map has a quarter of the pixels; its im2col is
            // 16 taps per output value.
            let first_map = (g.padded_height as u64 / 2)
                .checked_mul(g.padded_width as u64 / 2)?
                .checked_mul(widest)?;
            padded
                .checked_mul(6)?
                .checked_add(first_map.checked_mul(24)?)?
        }
    };
    let activations = per_sample_values.checked_mul(4)?.checked_mul(batch)?;
    weights.checked_add(activations)
}

/// The thread count to use for `--threads n`: at least 1, at most the cores this process may
/// run on. Returns the count and, when it was lowered, a note saying so.
pub fn threads(asked: usize, cores: usize) -> Result<(usize, Option<String>)> {
    if asked == 0 {
        return Err(Error::InvalidArgument(
            "--threads must be at least 1".into(),
        ));
    }
    let cores = cores.max(1);
    if asked > cores {
        return Ok((
            cores,
            Some(format!(
                "--threads {asked} is more than the {cores} cores this machine offers; using {cores}"
            )),
        ));
    }
    Ok((asked, None))
}

/// Opens `path` for reading if it is a regular file (following symlinks), and returns it with
/// its length. Devices (`/dev/zero`), FIFOs, sockets and folders are refused: they have no
/// length to check a header against, and some never end.
pub fn open_regular(path: &Path) -> Result<(File, u64)> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file (a device, FIFO or socket)"
        };
        return Err(Error::UnsupportedFormat {
            path: path.into(),
            reason: format!("{kind}; only regular files are read"),
        });
    }
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    Ok((file, meta.len()))
}

/// Reads a whole regular file of at most `limit` bytes (and within the memory budget).
pub fn read_regular(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let (file, len) = open_regular(path)?;
    if len > limit {
        return Err(Error::UnsupportedFormat {
            path: path.into(),
            reason: format!(
                "{} is too large for {what} (at most {})",
                human(len),
                human(limit)
            ),
        });
    }
    Budget::current().check(
        &format!("{}: reading {what}", path.display()),
        Some(len),
        "free some memory or use a smaller file",
    )?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(len)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// Reads a safetensors file: its 8-byte header length and its JSON header are checked against
/// the file's length before the rest is read, so a file that is not safetensors (or claims
/// more than it holds) costs a few bytes, not gigabytes.
pub fn read_safetensors(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let (mut file, len) = open_regular(path)?;
    let bad = |reason: String| Error::BadCheckpoint {
        path: path.into(),
        reason,
    };
    let mut head = [0u8; 8];
    if len < 8 {
        return Err(bad(format!(
            "{len} bytes is too short for a safetensors file"
        )));
    }
    file.read_exact(&mut head).map_err(|e| Error::io(path, e))?;
    let header_len = u64::from_le_bytes(head);
    // safetensors itself refuses headers over 100 MB.
    if header_len > 100_000_000 || header_len.checked_add(8).is_none_or(|e| e > len) {
        return Err(bad(format!(
            "the first 8 bytes claim a header of {header_len} bytes in a file of {len}; not a safetensors file"
        )));
    }
    let mut header = Vec::with_capacity(header_len as usize);
    (&mut file)
        .take(header_len)
        .read_to_end(&mut header)
        .map_err(|e| Error::io(path, e))?;
    if header.first() != Some(&b'{') {
        return Err(bad("the header is not JSON; not a safetensors file".into()));
    }
    // The data the header describes: the largest end offset of any tensor.
    let json: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|e| bad(format!("the header is not valid JSON: {e}")))?;
    let data_end = json
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| k.as_str() != "__metadata__")
                .filter_map(|(_, v)| v.get("data_offsets")?.get(1)?.as_u64())
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0);
    let claimed = 8 + header_len;
    let claimed = claimed
        .checked_add(data_end)
        .ok_or_else(|| bad("tensor offsets overflow".into()))?;
    if claimed > len {
        return Err(bad(format!(
            "truncated: its header describes {} bytes of weights, the file holds {}",
            claimed - 8 - header_len,
            len - 8 - header_len
        )));
    }
    if claimed > limit {
        return Err(bad(format!(
            "{} of weights is far too large",
            human(claimed)
        )));
    }
    Budget::current().check(
        &format!("{}: {} of weights", path.display(), human(claimed)),
        Some(claimed),
        "free some memory or use a smaller model",
    )?;
    // Bytes past what the header describes are not read (safetensors refuses them anyway).
    let mut bytes = Vec::with_capacity(claimed as usize);
    bytes.extend_from_slice(&head);
    bytes.extend_from_slice(&header);
    file.take(data_end)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_and_prints_them() {
        assert_eq!(parse_bytes("512M"), Some(512 << 20));
        assert_eq!(parse_bytes("2g"), Some(2 << 30));
        assert_eq!(parse_bytes("100"), Some(100));
        assert_eq!(parse_bytes("x"), None);
        assert_eq!(human(3 << 29), "1.5 GiB");
        assert_eq!(human(10), "10 bytes");
    }

    #[test]
    fn overflowing_sizes_are_over_budget_not_panics() {
        let b = Budget {
            memory: 1 << 30,
            source: "test",
            cores: 2,
        };
        assert!(b.check_picture(u64::MAX, 3, 3).is_err());
        assert!(
            b.check_frames(u64::MAX, ImageShape::new(28, 28, 1), 2)
                .is_err()
        );
        let huge = VaeConfig {
            hidden: vec![16_384; 8],
            ..VaeConfig::for_shape(ImageShape::new(1024, 1024, 3), 2)
        };
        let e = b.check_model(&huge, 128).unwrap_err().to_string();
        assert!(e.contains("would need") && e.contains("--hidden"), "{e}");
        assert!(b.check_model(&VaeConfig::mnist(2), 128).is_ok());
        assert_eq!(threads(100_000, 2).unwrap().0, 2);
        assert!(threads(0, 2).is_err());
    }
}
