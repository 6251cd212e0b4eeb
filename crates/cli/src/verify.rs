//! `kreplicate verify`: proves the copy complete. Compares every replicated partition record by
//! record (key, value, headers without the provenance header, timestamp) and prints one line per
//! partition with the first divergent source offset. Exit 0 only when every partition is equal.
//! Given a two-way pair's reverse replicator too (`--reverse-input`), both directions.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use kreplicate_replicate::{verify, VerifyFrom, VerifyOptions};
use kreplicate_replicate::{OffsetSyncMode, ReplicatorConfig, Status};

use crate::config_args::{self, ConfigArgs};
use crate::failure::{self, Failure};
use crate::status_source;

/// Options of `kreplicate verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Client id sent to both clusters.
    #[arg(long, value_name = "ID", default_value = "kreplicate-verify")]
    pub client_id: String,
    /// Where each partition's comparison starts: `start`, the source log start (every record
    /// the source holds must be on the target), or `replicator-start`, the first source offset
    /// the target holds a copy of (for a replicator started at LATEST).
    #[arg(long, value_name = "FROM", default_value = "start")]
    pub from: From,
    /// Also check each synced consumer group: its committed offset on the target must be the
    /// exact translation of its source commit, partition by partition.
    #[arg(long)]
    pub groups: bool,
    /// The reverse replicator of a two-way pair (its whole CreateReplicator request:
    /// file://PATH, PATH or inline JSON): also verify target -> source, one table per
    /// direction; exit 0 only when both are equal. With --groups, the groups the reverse
    /// replicator syncs back (ENHANCED) are checked too.
    #[arg(long, value_name = "FILE")]
    pub reverse_input: Option<String>,
    /// The running replicator's metrics endpoint (its `/status` is read, as by `status`): a
    /// partition it reports halted is shown as HALTED at its source offset instead of a bare
    /// difference.
    #[arg(long, value_name = "URL")]
    pub metrics_url: Option<String>,
    /// The same for the reverse replicator (with --reverse-input).
    #[arg(long, value_name = "URL", requires = "reverse_input")]
    pub reverse_metrics_url: Option<String>,
}

/// `--from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum From {
    Start,
    ReplicatorStart,
}

pub async fn run(args: VerifyArgs) -> Result<ExitCode, Failure> {
    let forward = config_args::load(&args.config)?;
    let reverse = match &args.reverse_input {
        Some(argument) => Some(config_args::load_another(
            "--reverse-input",
            argument,
            &args.config,
        )?),
        None => None,
    };
    for notice in forward
        .notices
        .iter()
        .chain(reverse.iter().flat_map(|r| &r.notices))
    {
        eprintln!("{notice}");
    }
    let from = match args.from {
        From::Start => VerifyFrom::LogStart,
        From::ReplicatorStart => VerifyFrom::ReplicatorStart,
    };
    let Some(reverse) = reverse else {
        if args.groups && forward.config.offset_sync_mode == OffsetSyncMode::Enhanced {
            eprintln!(
                "note: ENHANCED offset sync: groups that moved to the target are synced back by \
                 the reverse replicator; give its configuration with --reverse-input to check \
                 them too"
            );
        }
        let status = status_at(args.metrics_url.as_deref()).await?;
        let equal = verify_direction(&forward.config, &args, from, status).await?;
        return Ok(exit_code(equal));
    };
    check_reverse(&forward.config, &reverse.config)?;
    let mut unequal = Vec::new();
    for (i, (direction, config, metrics_url)) in [
        ("FORWARD", &forward.config, &args.metrics_url),
        ("REVERSE", &reverse.config, &args.reverse_metrics_url),
    ]
    .into_iter()
    .enumerate()
    {
        let status = status_at(metrics_url.as_deref()).await?;
        if i > 0 {
            println!();
        }
        println!(
            "{direction}: replicator {}: {} -> {}",
            config.name, config.source.id, config.target.id
        );
        if !verify_direction(config, &args, from, status).await? {
            unequal.push(direction.to_lowercase());
        }
    }
    println!();
    if unequal.is_empty() {
        println!("BOTH DIRECTIONS EQUAL");
    } else {
        println!("NOT EQUAL: the {} direction", unequal.join(" and the "));
    }
    Ok(exit_code(unequal.is_empty()))
}

fn exit_code(equal: bool) -> ExitCode {
    if equal {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The reverse replicator copies the other way between the same two clusters.
fn check_reverse(forward: &ReplicatorConfig, reverse: &ReplicatorConfig) -> Result<(), Failure> {
    if reverse.source.id == forward.target.id && reverse.target.id == forward.source.id {
        return Ok(());
    }
    Err(Failure::config(format!(
        "--reverse-input: replicator {} copies {} -> {}, which is not the reverse of \
         replicator {} ({} -> {}); give the replicator that copies {} -> {}",
        reverse.name,
        reverse.source.id,
        reverse.target.id,
        forward.name,
        forward.source.id,
        forward.target.id,
        forward.target.id,
        forward.source.id,
    )))
}

/// The status of the replicator behind `metrics_url` (its `/status`), to tell halted partitions.
async fn status_at(metrics_url: Option<&str>) -> Result<Option<Status>, Failure> {
    let Some(url) = metrics_url else {
        return Ok(None);
    };
    let status = status_source::read(&status_source::status_url(url), Duration::from_secs(10))
        .await
        .map_err(|e| Failure::config(format!("cannot read metrics: {e}")))?;
    Ok(Some(status))
}

/// One direction: the partition table, its verdict line and (`--groups`) the group lines.
/// Returns whether everything was equal (and something was verified).
async fn verify_direction(
    config: &ReplicatorConfig,
    args: &VerifyArgs,
    from: VerifyFrom,
    status: Option<Status>,
) -> Result<bool, Failure> {
    let mut options = VerifyOptions::default();
    options.from = from;
    options.groups = args.groups;
    options.status = status;
    let report = verify(config, &args.client_id, options)
        .await
        .map_err(|e| failure::from_engine(&e))?;
    print!("{report}");
    report.outcome().map_err(failure::from_engine)
}
