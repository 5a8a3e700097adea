use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = varco::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VARCO_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(format!("info,{}", varco_store::QUIET_LOG_FILTER))
            }),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match varco::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("errore: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
