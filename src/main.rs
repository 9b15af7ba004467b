//! `latent-explorer`: parses the command line and runs a subcommand, or opens the window.
//! The command line, the benchmarks and the soak run are this binary's modules; everything
//! they compute comes from the `latent_explorer` library.

mod bench;
mod bench_maps;
mod bench_scale;
mod bundled;
mod cli;
mod soak;

use clap::Parser;
use cli::{Cli, Command, run_command};
use std::path::PathBuf;
use std::process::ExitCode;

// candle allocates a fresh buffer for every tensor op; glibc's malloc returns those large
// blocks to the kernel and page-faults them back in on every step. mimalloc keeps them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Like any Unix tool, stop quietly when the reader of our output goes away
    // (`latent-explorer bench | head`) instead of panicking on the broken pipe.
    #[cfg(unix)]
    // SAFETY: restores the default action for one signal before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        let cores = latent_explorer::budget::Budget::current().cores;
        let n = match latent_explorer::budget::threads(n, cores) {
            Ok((n, note)) => {
                if let Some(note) = note {
                    eprintln!("note: {note}");
                }
                n
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        // candle's matrix kernels read RAYON_NUM_THREADS on every call; set it before any
        // thread exists, and size rayon's pool to match.
        // SAFETY: no other thread is running yet.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
        let _ = named_pool().num_threads(n).build_global();
    } else {
        let _ = named_pool().build_global();
    }
    let result = match cli.command {
        None => open_window(&cli.paths, true),
        Some(Command::Open(a)) => open_window(&a.paths, false),
        Some(command) => run_command(command).map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The window, on the dataset and model among `paths` (checked before it opens). `bare`: the
/// paths came right after the program's name, where a mistyped subcommand lands too.
fn open_window(paths: &[PathBuf], bare: bool) -> Result<(), String> {
    let targets = cli::open_targets(paths).map_err(|mut refused| {
        let word = refused.path.components().count() == 1 && refused.path.extension().is_none();
        if bare && word && refused.reason == cli::NOT_FOUND {
            refused.reason += ", nor a subcommand (see --help)";
        }
        refused.to_string()
    })?;
    let bundled = bundled::paths().map_err(|e| e.to_string())?;
    latent_explorer::gui::run(latent_explorer::gui::AppOptions {
        dataset: targets.dataset,
        model: targets.model,
        session: targets.session,
        bundled,
        ..Default::default()
    })
}

/// The tensor maths' threads, named so that a profiler or `top -H` tells them from the window's.
/// They flush subnormal floats from the start (`kernels::cpu::flush_subnormals`).
fn named_pool() -> rayon::ThreadPoolBuilder {
    rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("tensor-{i}"))
        .start_handler(|_| std::mem::forget(latent_explorer::kernels::cpu::flush_subnormals()))
}
