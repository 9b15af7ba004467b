//! What the kernels need to know about the CPU beyond its vector instructions: who made it and
//! how big a core's own (level 2) cache is, read once with `cpuid`.

use std::sync::OnceLock;

/// The facts read from `cpuid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuCaches {
    /// "GenuineIntel" (an Intel CPU): its level 3 cache sits on a mesh shared by all cores and
    /// is slow to fetch from, so working sets are sized to the level 2 cache.
    pub intel: bool,
    /// Bytes of one core's level 2 cache, where the CPU reports it.
    pub l2_bytes: Option<usize>,
}

/// The CPU's caches, read once.
pub fn caches() -> CpuCaches {
    static CACHES: OnceLock<CpuCaches> = OnceLock::new();
    *CACHES.get_or_init(read)
}

#[cfg(target_arch = "x86_64")]
fn read() -> CpuCaches {
    use std::arch::x86_64::__cpuid_count;
    // Leaf 0: the highest standard leaf and the vendor string (in EBX, EDX, ECX order).
    let leaf0 = __cpuid_count(0, 0);
    let vendor: Vec<u8> = [leaf0.ebx, leaf0.edx, leaf0.ecx]
        .iter()
        .flat_map(|r| r.to_le_bytes())
        .collect();
    let intel = vendor == b"GenuineIntel";
    // Leaf 4 (Intel's deterministic cache parameters): one sub-leaf per cache until type 0.
    let mut l2_bytes = None;
    if intel && leaf0.eax >= 4 {
        for sub in 0..16 {
            let r = __cpuid_count(4, sub);
            let kind = r.eax & 0x1f;
            if kind == 0 {
                break;
            }
            let level = (r.eax >> 5) & 0x7;
            // Data (1) or unified (3) caches only.
            if level == 2 && (kind == 1 || kind == 3) {
                let ways = ((r.ebx >> 22) & 0x3ff) as usize + 1;
                let partitions = ((r.ebx >> 12) & 0x3ff) as usize + 1;
                let line = (r.ebx & 0xfff) as usize + 1;
                let sets = r.ecx as usize + 1;
                l2_bytes = Some(ways * partitions * line * sets);
            }
        }
    }
    CpuCaches { intel, l2_bytes }
}

#[cfg(not(target_arch = "x86_64"))]
fn read() -> CpuCaches {
    CpuCaches {
        intel: false,
        l2_bytes: None,
    }
}

/// MXCSR's flush-to-zero (results too small for a normal float become 0) and
/// denormals-are-zero (such inputs read as 0) bits.
#[cfg(target_arch = "x86_64")]
const FLUSH_BITS: u32 = 0x8000 | 0x0040;

/// The calling thread's floating-point control register.
#[cfg(target_arch = "x86_64")]
fn read_mxcsr() -> u32 {
    let mut value = 0u32;
    // SAFETY: stmxcsr stores the 32-bit register into the word it is given, which lives here.
    unsafe {
        std::arch::asm!("stmxcsr [{}]", in(reg) &mut value, options(nostack, preserves_flags));
    }
    value
}

#[cfg(target_arch = "x86_64")]
fn write_mxcsr(value: u32) {
    // SAFETY: ldmxcsr loads a value read from the register with only the flush bits changed,
    // which are valid settings.
    unsafe {
        std::arch::asm!("ldmxcsr [{}]", in(reg) &value, options(nostack, readonly, preserves_flags));
    }
}

/// Makes the calling thread treat subnormal floats as zero, in and out (x86-64; elsewhere
/// nothing changes), until the returned guard is dropped.
///
/// Why: Adam's first moment of a weight whose gradient stays zero (a hidden unit that never
/// fires) decays by 0.9 a step into the subnormal range and, rounding to nearest, stays there
/// for good (0.9 times the smallest subnormal rounds back to it). On an Intel Xeon, after two
/// epochs of Fashion-MNIST, 45% of the first layer's moments were subnormal, and every
/// arithmetic operation on one takes a slow microcode path: the MLP's epochs slowed from 26,000
/// to 16,000 samples/s on one thread. Flushed, the third and fourth epochs ran as fast as the
/// first and the losses were the same to every printed digit. TensorFlow sets the same bits on
/// its threads; nothing a VAE computes needs values below 1.2e-38.
pub fn flush_subnormals() -> FlushSubnormals {
    #[cfg(target_arch = "x86_64")]
    {
        let before = read_mxcsr();
        write_mxcsr(before | FLUSH_BITS);
        FlushSubnormals { before }
    }
    #[cfg(not(target_arch = "x86_64"))]
    FlushSubnormals {}
}

/// [`flush_subnormals`] on every thread of the current rayon pool, for good (the maths
/// threads never need subnormals; restoring them would need a second pass over the pool).
pub fn flush_subnormals_in_pool() {
    rayon::broadcast(|_| std::mem::forget(flush_subnormals()));
}

/// Restores the thread's floating-point settings when dropped.
#[must_use = "the settings are restored when this is dropped"]
pub struct FlushSubnormals {
    #[cfg(target_arch = "x86_64")]
    before: u32,
}

impl Drop for FlushSubnormals {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        write_mxcsr(self.before);
    }
}

/// Whether the calling thread flushes subnormals (always false off x86-64).
pub fn flushes_subnormals() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        read_mxcsr() & FLUSH_BITS == FLUSH_BITS
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_2_cache_matches_what_linux_reports() {
        let c = caches();
        // Linux reads the same leaf; where it lists the cache, the two must agree.
        let dir = "/sys/devices/system/cpu/cpu0/cache/index2";
        let level = std::fs::read_to_string(format!("{dir}/level")).unwrap_or_default();
        let sysfs = std::fs::read_to_string(format!("{dir}/size"));
        if let (Some(bytes), Ok(text), "2") = (c.l2_bytes, sysfs, level.trim()) {
            let kib: usize = text.trim().trim_end_matches('K').parse().unwrap_or(0);
            assert_eq!(bytes, kib * 1024, "cpuid {bytes} B, sysfs {text}");
        }
        if c.intel {
            assert!(c.l2_bytes.is_some_and(|b| b >= 256 * 1024), "{c:?}");
        }
    }

    #[test]
    fn subnormals_are_flushed_while_the_guard_lives_and_not_after() {
        use std::hint::black_box;
        let small = || black_box(1e-20f32);
        let subnormal = black_box(1e-40f32);
        assert!(subnormal.is_subnormal());
        assert!(!flushes_subnormals());
        assert!((small() * small()).is_subnormal());
        {
            let _flush = flush_subnormals();
            assert_eq!(flushes_subnormals(), cfg!(target_arch = "x86_64"));
            if cfg!(target_arch = "x86_64") {
                // Results below the normal range are 0, and so are such inputs.
                assert_eq!(small() * small(), 0.0);
                assert_eq!(subnormal * black_box(1e10f32), 0.0);
            }
        }
        assert!(!flushes_subnormals());
        assert!((small() * small()).is_subnormal());
    }

    #[test]
    fn a_pool_flushes_on_every_thread() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        pool.install(flush_subnormals_in_pool);
        let flushing = pool.broadcast(|_| flushes_subnormals());
        assert_eq!(flushing, vec![cfg!(target_arch = "x86_64"); 3]);
    }
}
