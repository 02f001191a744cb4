//! `gauntlet`: parse the command line, hand it to the library, turn the outcome into an exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = gauntlet_loadgen::cli::Cli::parse();
    gauntlet_loadgen::logging::init(cli.verbose, cli.quiet());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return gauntlet_loadgen::exit::Exit::Infrastructure.into();
        }
    };
    let outcome = runtime.block_on(gauntlet_loadgen::commands::dispatch(cli.command));
    gauntlet_loadgen::exit::report(outcome).into()
}
