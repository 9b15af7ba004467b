//! Batch assembly: gathers images by index into one reusable f32 buffer in [0, 1].

use super::Dataset;

/// Lookup table from byte to [0, 1] float, so batching is one load per pixel.
fn byte_to_unit() -> [f32; 256] {
    let mut t = [0f32; 256];
    for (i, v) in t.iter_mut().enumerate() {
        *v = i as f32 / 255.0;
    }
    t
}

/// A reusable buffer that holds one batch of images as `[batch, H*W*C]` floats.
pub struct BatchBuffer {
    table: [f32; 256],
    buf: Vec<f32>,
}

impl Default for BatchBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchBuffer {
    pub fn new() -> Self {
        Self {
            table: byte_to_unit(),
            buf: Vec::new(),
        }
    }

    /// Fills the buffer with the images at `indices` and returns it.
    pub fn fill(&mut self, data: &Dataset, indices: &[usize]) -> &[f32] {
        let d = data.shape.len();
        self.buf.clear();
        self.buf.reserve(indices.len() * d);
        for &i in indices {
            self.buf
                .extend(data.image_bytes(i).iter().map(|&b| self.table[b as usize]));
        }
        &self.buf
    }

    /// Takes the filled buffer out (for building a tensor without a copy).
    pub fn take(&mut self, data: &Dataset, indices: &[usize]) -> Vec<f32> {
        self.fill(data, indices);
        std::mem::take(&mut self.buf)
    }
}
