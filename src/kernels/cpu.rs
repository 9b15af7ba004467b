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
}
