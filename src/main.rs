//! `latent-explorer`: parses the command line and runs a subcommand.

use clap::Parser;
use latent_explorer::cli::{Cli, run_command};
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
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    let Some(command) = cli.command else {
        return match latent_explorer::gui::run(latent_explorer::gui::AppOptions::default()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        };
    };
    match run_command(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
