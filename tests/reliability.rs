//! Hostile inputs and faults: property tests over mutated real files, hostile sizes, and
//! saves killed at random moments. Nothing may panic, take unbounded memory, or lose a file.
//!
//! `PROPTEST_CASES` sets how many cases each property runs (CI uses the default 256; see
//! docs/reliability.md for the long runs).

use latent_explorer::data::{ImageDirOptions, LoadOptions, load_dataset, load_image_dir, read_idx};
use latent_explorer::model::{Model, VaeConfig};
use proptest::prelude::*;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn mnist_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/mnist")
}

/// The first bytes of the real t10k images file (header and 20 images), decompressed.
fn idx_seed() -> &'static [u8] {
    static SEED: OnceLock<Vec<u8>> = OnceLock::new();
    SEED.get_or_init(|| {
        let gz = std::fs::read(mnist_dir().join("t10k-images-idx3-ubyte.gz")).unwrap();
        let mut raw = Vec::new();
        let mut d = flate2::read::GzDecoder::new(&gz[..]);
        std::io::Read::read_to_end(&mut d, &mut raw).unwrap();
        let mut seed = raw[..16 + 20 * 784].to_vec();
        seed[4..8].copy_from_slice(&20u32.to_be_bytes());
        seed
    })
}

fn checkpoint_seed() -> &'static [u8] {
    static SEED: OnceLock<Vec<u8>> = OnceLock::new();
    SEED.get_or_init(|| {
        let config = VaeConfig {
            hidden: vec![8],
            ..VaeConfig::for_shape(latent_explorer::data::ImageShape::new(4, 4, 1), 2)
        };
        Model::new_random(config, 1)
            .unwrap()
            .to_safetensors_bytes()
            .unwrap()
    })
}

fn png_seed() -> &'static [u8] {
    static SEED: OnceLock<Vec<u8>> = OnceLock::new();
    SEED.get_or_init(|| {
        let img = image::GrayImage::from_fn(9, 7, |x, y| image::Luma([(x * 20 + y * 7) as u8]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    })
}

/// Byte edits applied to a seed: overwrite, insert, delete, truncate.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, v)| Edit::Insert(i, v)),
        1 => (any::<usize>(), 1usize..64).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => any::<usize>().prop_map(Edit::Truncate),
    ];
    proptest::collection::vec(edit, 1..8)
}

fn mutate(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for e in edits {
        let len = v.len().max(1);
        match e {
            Edit::Set(i, b) => {
                // Headers matter most: aim half the edits at the first 64 bytes.
                let i = if i % 2 == 0 { i % 64.min(len) } else { i % len };
                if let Some(x) = v.get_mut(i) {
                    *x = *b;
                }
            }
            Edit::Insert(i, bytes) => {
                let i = i % (v.len() + 1);
                v.splice(i..i, bytes.iter().copied());
            }
            Edit::Delete(i, n) => {
                let i = i % len;
                let end = (i + n).min(v.len());
                if i < end {
                    v.drain(i..end);
                }
            }
            Edit::Truncate(n) => v.truncate(n % len),
        }
    }
    v
}

proptest! {
    #[test]
    fn idx_reader_never_panics_on_mutated_files(edits in edits(), gz in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = mutate(idx_seed(), &edits);
        let path = dir.path().join("data-images-idx3-ubyte");
        if gz {
            let mut e = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
            e.write_all(&bytes).unwrap();
            e.finish().unwrap();
        } else {
            std::fs::write(&path, &bytes).unwrap();
        }
        // Either a dataset or an error naming the file; never a panic.
        match read_idx(&path) {
            Ok(_) => {}
            Err(e) => prop_assert!(e.to_string().contains("data-images-idx3-ubyte"), "{e}"),
        }
        let _ = load_dataset(dir.path(), &LoadOptions::default());
    }

    #[test]
    fn checkpoint_loader_never_panics_and_never_half_loads(edits in edits()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        std::fs::write(&path, mutate(checkpoint_seed(), &edits)).unwrap();
        if let Ok(model) = Model::load(&path) {
            // Whatever loaded is a whole, finite, working model.
            let out = model.decode(&vec![0.1; model.latent()]).unwrap();
            prop_assert!(out.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn image_folder_loader_never_panics_on_mutated_images(edits in edits(), n in 1usize..4) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("class")).unwrap();
        for k in 0..n {
            std::fs::write(dir.path().join("class").join(format!("{k}.png")), mutate(png_seed(), &edits)).unwrap();
        }
        std::fs::write(dir.path().join("class").join("good.png"), png_seed()).unwrap();
        let (data, report) = load_image_dir(dir.path(), &ImageDirOptions::default()).unwrap();
        prop_assert_eq!(data.len() + report.skipped.len(), n + 1);
    }
}

#[test]
fn a_png_declaring_100000_by_100000_pixels_is_skipped_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    // A real PNG whose header is rewritten to claim 100000 x 100000 (CRC fixed up).
    let mut png = png_seed().to_vec();
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&png[12..29]);
    png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    std::fs::write(dir.path().join("a").join("huge.png"), &png).unwrap();
    std::fs::write(dir.path().join("a").join("fine.png"), png_seed()).unwrap();
    let t0 = Instant::now();
    let (data, report) = load_image_dir(dir.path(), &ImageDirOptions::default()).unwrap();
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(data.len(), 1);
    assert_eq!(report.skipped.len(), 1);
    let (path, reason) = &report.skipped[0];
    assert!(path.ends_with("huge.png"), "{path:?}");
    assert!(reason.to_lowercase().contains("limit"), "{reason}");
}

#[test]
fn a_gz_that_inflates_without_end_is_read_only_as_far_as_its_header_claims() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb-images-idx3-ubyte.gz");
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::best(),
    );
    let mut header = vec![0u8, 0, 8, 3];
    for v in [10u32, 28, 28] {
        header.extend(v.to_be_bytes());
    }
    e.write_all(&header).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..512 {
        e.write_all(&zeros).unwrap(); // 512 MiB inflated
    }
    e.finish().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 2 << 20);
    let t0 = Instant::now();
    let data = load_dataset(&path, &LoadOptions::default()).unwrap();
    assert_eq!(data.len(), 10);
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "read {:?}",
        t0.elapsed()
    );
}

#[test]
fn a_safetensors_header_claiming_gigabytes_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge-header.safetensors");
    let mut bytes = (5u64 << 30).to_le_bytes().to_vec();
    bytes.extend(b"{\"a\":");
    std::fs::write(&path, &bytes).unwrap();
    let t0 = Instant::now();
    let e = Model::load(&path).err().unwrap();
    assert!(t0.elapsed() < Duration::from_millis(500));
    assert!(e.to_string().contains("huge-header.safetensors"), "{e}");
}

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_latent-explorer")
}

/// Starts `args`, kills it after `delay`, and returns whether it had already finished.
fn run_and_kill(args: &[&str], delay: Duration) -> bool {
    let mut child = Command::new(exe())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let finished = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    let _ = child.wait();
    finished
}

/// Pseudo-random delays (a fixed sequence, so a failure can be replayed).
fn delays(n: usize, max_ms: u64) -> Vec<Duration> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_millis(x % max_ms)
        })
        .collect()
}

#[test]
fn a_checkpoint_save_killed_at_any_moment_leaves_a_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.safetensors");
    let out_s = out.to_str().unwrap();
    let mut kills = 0;
    let mut loaded = 0;
    // Each run saves after every epoch (about ten times a second on 600 samples).
    for delay in delays(12, 1500) {
        let args = [
            "--threads",
            "1",
            "train",
            "--limit",
            "600",
            "--epochs",
            "1000",
            "--latent",
            "2",
            "--quiet",
            "--out",
            out_s,
        ];
        if !run_and_kill(&args, delay + Duration::from_millis(150)) {
            kills += 1;
        }
        if out.exists() {
            let m = Model::load(&out).unwrap_or_else(|e| panic!("after a kill at {delay:?}: {e}"));
            assert_eq!(m.latent(), 2);
            loaded += 1;
        }
    }
    assert!(kills >= 10, "only {kills} runs were killed mid-way");
    assert!(loaded >= 8, "only {loaded} kills left a file to check");
}

#[test]
fn a_csv_export_killed_at_any_moment_is_absent_or_complete() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("codes.csv");
    let out_s = out.to_str().unwrap();
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/mnist-latent2.safetensors");
    let args = ["encode", "--model", model.to_str().unwrap(), "--out", out_s];
    // Kill at moments spread over one whole run's length, measured here.
    let t0 = Instant::now();
    assert!(
        Command::new(exe())
            .args(args)
            .output()
            .unwrap()
            .status
            .success()
    );
    let full_ms = t0.elapsed().as_millis() as u64;
    let mut killed = 0;
    for fraction in delays(10, 900) {
        let _ = std::fs::remove_file(&out);
        let delay = Duration::from_millis(full_ms * (50 + fraction.as_millis() as u64) / 1000);
        if !run_and_kill(&args, delay) {
            killed += 1;
        }
        if out.exists() {
            let text = std::fs::read_to_string(&out).unwrap();
            assert_eq!(
                text.lines().count(),
                70_001,
                "a partial CSV after a kill at {delay:?}"
            );
            assert!(text.ends_with('\n'));
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name() != "codes.csv")
            .collect();
        // A killed write may leave its temp file, never a half-written target.
        for l in leftovers {
            assert!(l.file_name().to_string_lossy().ends_with(".tmp"));
            let _ = std::fs::remove_file(l.path());
        }
    }
    assert!(
        killed >= 5,
        "only {killed} runs were killed before finishing"
    );
}

#[test]
fn a_png_export_killed_at_any_moment_is_absent_or_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grid.png");
    let out_s = out.to_str().unwrap();
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/mnist-latent16.safetensors");
    for (k, delay) in delays(12, 120).into_iter().enumerate() {
        // Alternate between writing a new file and replacing the one from the last round.
        if k % 2 == 0 {
            let _ = std::fs::remove_file(&out);
        }
        let seed = k.to_string();
        let args = [
            "sample",
            "--model",
            model.to_str().unwrap(),
            "--count",
            "400",
            "--scale",
            "4",
            "--seed",
            &seed,
            "--out",
            out_s,
        ];
        run_and_kill(&args, delay);
        if out.exists() {
            let img = image::open(&out)
                .unwrap_or_else(|e| panic!("a broken PNG after a kill at {delay:?}: {e}"));
            assert_eq!(img.width(), 20 * 112 + 19 * 2);
        }
    }
}
