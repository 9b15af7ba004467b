//! The hot loops of training and encoding, each written once and compiled for the CPU found at
//! run time: AVX-512 where the CPU has it (the machines this was tuned on do), AVX2 + FMA
//! where it has that, plain code elsewhere. Without this the crate is built for the x86-64
//! baseline (SSE2) and the compiler cannot use the wide registers in these loops.
//!
//! - [`sparse`]: products with a mostly-zero left side (MNIST images are ~80% zeros), for the
//!   first layer's forward pass and weight gradient, and for encoding whole datasets.
//! - [`elementwise`]: the fused loss-and-gradient pass over the decoder's logits, and Adam.

pub mod conv;
pub mod cpu;
pub mod dense;
pub mod elementwise;
pub mod sparse;

/// Which vector instructions the kernels may use on this CPU (checked once, then cached by
/// the standard library).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
    Avx512,
    Avx2,
    Portable,
}

impl Simd {
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                return Simd::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Simd::Avx2;
            }
        }
        Simd::Portable
    }

    pub fn name(self) -> &'static str {
        match self {
            Simd::Avx512 => "AVX-512",
            Simd::Avx2 => "AVX2+FMA",
            Simd::Portable => "portable",
        }
    }
}

/// Transposes a row-major [rows, cols] matrix.
pub fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    assert_eq!(m.len(), rows * cols);
    let mut t = vec![0f32; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

/// Defines `$name` as a safe function that runs `$body` (an `#[inline(always)]` function with
/// the same signature) compiled for the best instruction set this CPU has.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? => $body:ident) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                fn avx512($($arg: $ty),*) $(-> $ret)? { $body($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? { $body($($arg),*) }
                match $crate::kernels::Simd::detect() {
                    // SAFETY: the CPU was just found to have these features.
                    $crate::kernels::Simd::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: the CPU was just found to have these features.
                    $crate::kernels::Simd::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::kernels::Simd::Portable => {}
                }
            }
            $body($($arg),*)
        }
    };
}
pub(crate) use multiversion;
