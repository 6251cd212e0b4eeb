//! Usage errors where clap's own words would mislead, re-worded; every usage error still exits
//! 2. Two cases: a command that takes the replicator configuration run with none of it (clap
//! would list the three separate-file options and never mention `--cli-input-json`, the usual
//! form), and a negative number (clap takes `-1` for an unknown flag).

use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::failure::EXIT_CONFIG;

/// The options that carry the replicator configuration ([`crate::config_args::ConfigArgs`]).
const CONFIG_OPTIONS: [&str; 4] = [
    "--cli-input-json",
    "--replicator-name",
    "--kafka-clusters",
    "--replication-info-list",
];

/// The usage line of a command that takes the configuration, `--cli-input-json` first.
pub fn config_usage(command: &str) -> String {
    format!(
        "kreplicate {command} --cli-input-json <FILE> [OPTIONS]\n       \
         kreplicate {command} --replicator-name <NAME> --kafka-clusters <FILE> \
         --replication-info-list <FILE> [OPTIONS]"
    )
}

/// Prints `err` (re-worded when [`explain`] knows better) and returns its exit code.
pub fn report(err: clap::Error, args: &[String]) -> ExitCode {
    match explain(&err, args) {
        Some(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_CONFIG)
        }
        None => {
            // Help and version go to stdout with 0; usage errors to stderr with 2.
            let _ = err.print();
            ExitCode::from(err.exit_code() as u8)
        }
    }
}

/// A better message for `err`, or `None` to keep clap's.
pub fn explain(err: &clap::Error, args: &[String]) -> Option<String> {
    match err.kind() {
        ErrorKind::MissingRequiredArgument => {
            let subcommand = args.iter().skip(1).find(|a| !a.starts_with('-'))?;
            let given = args.iter().any(|a| {
                CONFIG_OPTIONS
                    .iter()
                    .any(|o| a.split('=').next() == Some(o))
            });
            let missing = match err.get(ContextKind::InvalidArg) {
                Some(ContextValue::Strings(missing)) => missing,
                _ => return None,
            };
            let about_config = missing.iter().any(|m| m.starts_with("--replicator-name"));
            (about_config && !given).then(|| {
                format!(
                    "no replicator configuration given: pass the whole CreateReplicator request \
                     (the JSON `aws kafka create-replicator --cli-input-json` takes) with \
                     --cli-input-json FILE, or its parts with --replicator-name NAME \
                     --kafka-clusters FILE --replication-info-list FILE\n\nUsage: {}\n\n\
                     For more information, try 'kreplicate {subcommand} --help'.",
                    config_usage(subcommand)
                )
            })
        }
        ErrorKind::UnknownArgument => {
            let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
                return None;
            };
            if arg.parse::<f64>().is_err() {
                return None;
            }
            // The option the number was meant for is the word before it.
            let position = args.iter().position(|a| a == arg)?;
            let flag = args[..position].last().filter(|f| f.starts_with("--"))?;
            Some(format!(
                "{flag}: {arg} is negative; give a number of 0 or more"
            ))
        }
        _ => None,
    }
}
