//! The process boundary: parse arguments, run, map the outcome to an exit code. Nothing else.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use vouch::cli::{self, Cli};
use vouch::report::Verdict;

/// Exit codes, everywhere: 0 pass, 1 the policy failed, 2 vouch could not do its job.
const EXIT_FAIL: u8 = 1;
const EXIT_ERROR: u8 = 2;

/// mimalloc instead of the system allocator: a monorepo audit allocates millions of small
/// strings on parser threads, and glibc's per-thread arenas grew their heaps a few pages at
/// a time (one `mprotect` each, ~1,700 per run): a fifth of its CPU time. Built with
/// `no_thp`: transparent huge pages would save a few more page faults but double peak
/// memory (41 MiB on a 10,000-crate audit, over its 40 MiB budget).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(EXIT_ERROR),
            };
        }
    };
    // Reports are written in many small pieces; stdout is line-buffered. One buffer for
    // all of it (flushed below, where a failed write is still an error), beneath the
    // colour handling: stripping colour off a report (not a terminal) writes each piece
    // between escape codes on its own, which would reach the line-buffered stdout one
    // line at a time. The colour choice is still stdout's own.
    let choice = anstream::AutoStream::choice(&std::io::stdout());
    let buffered: Box<dyn Write> = Box::new(std::io::BufWriter::with_capacity(
        64 * 1024,
        std::io::stdout().lock(),
    ));
    let mut stdout = anstream::AutoStream::new(buffered, choice);
    let mut stderr = anstream::stderr();
    let result = cli::run(cli, &mut stdout, &mut stderr);
    let flushed = stdout.flush();
    match (result, flushed) {
        (Ok(Verdict::Pass), Ok(())) => ExitCode::SUCCESS,
        (Ok(Verdict::Fail), Ok(())) => ExitCode::from(EXIT_FAIL),
        // The report was written; it says which check could not run.
        (Ok(Verdict::Error), Ok(())) => ExitCode::from(EXIT_ERROR),
        (Ok(_), Err(e)) => {
            let _ = writeln!(anstream::stderr(), "error: could not write the report: {e}");
            ExitCode::from(EXIT_ERROR)
        }
        (Err(e), _) => {
            let _ = writeln!(
                anstream::stderr(),
                "error: {}",
                vouch::report::error_chain(&e)
            );
            ExitCode::from(EXIT_ERROR)
        }
    }
}
