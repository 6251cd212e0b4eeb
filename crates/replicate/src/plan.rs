//! `kreplicate plan`: what `run` would do to the target now — topics to create, partitions to
//! add, configs to change, ACLs to create, groups whose offsets would be synced — and what the
//! target would refuse, found without writing anything. One report: [`plan`] reads, the
//! [`Plan`]'s `Display` is the text the CLI prints.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use kreplicate_wire::client::{Client, Error as ClientError};

use crate::cluster_client::{connect, Role};
use crate::config::ReplicatorConfig;
use crate::error::EngineError;
use crate::groups::planned::{plan_groups, PlannedGroup, PlannedPosition, Translation};
use crate::metrics::ReplicatorMetrics;
use crate::table::Table;
use crate::topics::{describe_ops, TopicPlan, TopicSync, ValidateOnlyRefusal};

/// What `run` would do to the target now, and what it could not do; `Display` renders it.
#[derive(Debug)]
pub struct Plan {
    config: ReplicatorConfig,
    topics: TopicPlan,
    groups: Groups,
    /// The source's topics, listed when the selection matches none.
    source_topics: Vec<String>,
}

/// What the plan found about consumer groups.
#[derive(Debug)]
enum Groups {
    /// Group offset sync is off.
    Off,
    /// The selected groups on the source, and whether the target holds saved offset maps.
    Selected(Vec<PlannedGroup>, bool),
    /// The groups could not be read.
    Unreadable(ClientError),
}

/// Connects to both clusters (checking their ids) and plans, without writing anything: the
/// same reads as a sync round, then CreateTopics and IncrementalAlterConfigs with
/// `validate_only` where the target honours it. Fails when a cluster cannot be reached or
/// its topics cannot be listed.
pub async fn plan(config: &ReplicatorConfig, client_id: &str) -> Result<Plan, EngineError> {
    let source = connect(&config.source, Role::Source, client_id).await?;
    let target = connect(&config.target, Role::Target, client_id).await?;
    let groups = selected_groups(&source, &target, config).await;
    let mut sync = TopicSync::new(
        source.clone(),
        target,
        Arc::new(config.clone()),
        Arc::new(ReplicatorMetrics::new()),
    );
    let topics = sync.plan().await?;
    let source_topics = if topics.selected.is_empty() {
        source
            .metadata()
            .await
            .map(|m| {
                m.topics
                    .values()
                    .filter(|t| !t.is_internal)
                    .map(|t| t.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(Plan {
        config: config.clone(),
        topics,
        groups,
        source_topics,
    })
}

async fn selected_groups(source: &Client, target: &Client, config: &ReplicatorConfig) -> Groups {
    if !config.flags.sync_group_offsets {
        return Groups::Off;
    }
    match plan_groups(source, target, config).await {
        Ok((groups, maps)) => Groups::Selected(groups, maps),
        Err(e) => Groups::Unreadable(e),
    }
}

impl Plan {
    /// True when nothing is known to fail: no problem, no refused creation or config change,
    /// no growth the target cannot do, and the source's groups could be read.
    pub fn feasible(&self) -> bool {
        self.topics.feasible() && !matches!(self.groups, Groups::Unreadable(_))
    }
}

/// One position: `orders-0 @ 40 -> 38`.
fn position(p: &PlannedPosition) -> String {
    let target = match &p.translation {
        None => "unknown until its records are copied".to_string(),
        Some(Translation::Exact(offset)) => offset.to_string(),
        Some(Translation::NotYetReplicated { copied_up_to }) => {
            format!("not yet: copied up to source offset {copied_up_to}")
        }
        Some(Translation::BeforeReplicationStart { start }) => {
            format!("none: before replication start (source offset {start})")
        }
    };
    format!(
        "{}-{} @ {} -> {}-{} {target}",
        p.source_topic, p.partition, p.source_offset, p.target_topic, p.partition
    )
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl Plan {
    /// The plan as printed.
    fn render(&self) -> String {
        let (config, plan, groups) = (&self.config, &self.topics, &self.groups);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "plan for replicator {}: {} ({}) -> {} ({}); nothing was written",
            config.name,
            config.source.id,
            config.source.bootstrap.join(","),
            config.target.id,
            config.target.bootstrap.join(",")
        );
        let _ = writeln!(out, "selected source topics: {}", plan.selected.len());
        if plan.selected.is_empty() {
            let _ = writeln!(
                out,
                "  warning: TopicsToReplicate selects no topic; the source has: {}",
                if self.source_topics.is_empty() {
                    "(no topics)".to_string()
                } else {
                    self.source_topics.join(", ")
                }
            );
        }
        let width = plan
            .selected
            .iter()
            .map(|(_, target, _)| target.len())
            .max()
            .unwrap_or(0);
        section(
            &mut out,
            "topics to create on the target",
            &plan.create,
            width,
            |c| {
                let configs = if c.configs.is_empty() {
                    "no configs".to_string()
                } else {
                    c.configs
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let rf = match c.replication_factor {
                    -1 => "the target's default replication factor".to_string(),
                    rf => format!("replication factor {rf}"),
                };
                [
                    c.target.clone(),
                    format!(
                        "{} partitions, {rf}, {configs} (from {}){}",
                        c.partitions,
                        c.source,
                        checked(&c.validated)
                    ),
                ]
            },
        );
        section(&mut out, "partitions to add", &plan.grow, width, |g| {
            let how = if g.possible {
                String::new()
            } else {
                format!(
                    "; CANNOT: the target does not offer CreatePartitions, only partitions 0..{} are copied",
                    g.from
                )
            };
            [g.target.clone(), format!("{} -> {}{how}", g.from, g.to)]
        });
        section(
            &mut out,
            "configs to change on the target",
            &plan.alter,
            width,
            |a| {
                [
                    a.target.clone(),
                    format!("{}{}", describe_ops(&a.ops), checked(&a.validated)),
                ]
            },
        );
        section(
            &mut out,
            "ACLs to create on the target",
            &plan.acls,
            width,
            |b| {
                [
                    b.resource_name.clone(),
                    format!(
                        "{:?} {:?} for {} from host {}",
                        b.permission, b.operation, b.principal, b.host
                    ),
                ]
            },
        );
        if !plan.in_step.is_empty() {
            let _ = writeln!(out, "already in step: {}", plan.in_step.join(", "));
        }
        match groups {
            Groups::Off => {
                let _ = writeln!(
                    out,
                    "consumer group offsets: not synced (SynchroniseConsumerGroupOffsets is off)"
                );
            }
            Groups::Selected(list, maps) => {
                let _ = writeln!(
                    out,
                    "consumer groups whose offsets would be synced: {}",
                    if list.is_empty() {
                        "(none selected on the source now)".to_string()
                    } else {
                        list.len().to_string()
                    }
                );
                for group in list {
                    if group.positions.is_empty() {
                        let _ = writeln!(
                            out,
                            "  {}: no committed offset on a replicated topic",
                            group.group
                        );
                        continue;
                    }
                    let _ = writeln!(out, "  {}:", group.group);
                    for p in &group.positions {
                        let _ = writeln!(out, "    {}", position(p));
                    }
                }
                if !list.is_empty() && !maps {
                    let _ = writeln!(
                        out,
                        "  (no offset maps on the target yet: a target position is each source commit \
                         translated through the map run builds as it copies)"
                    );
                }
            }
            Groups::Unreadable(why) => {
                let _ = writeln!(
                    out,
                    "consumer groups: cannot list the source's groups: {why}"
                );
            }
        }
        section(&mut out, "cannot know before run", &plan.unknown, 0, |u| {
            [u.clone()]
        });
        section(&mut out, "problems run would hit", &plan.problems, 0, |p| {
            [p.to_string()]
        });
        let _ = writeln!(
            out,
            "{}",
            if self.feasible() {
                "result: run can do all of the above"
            } else {
                "result: run would NOT be able to do all of the above (see REFUSED, CANNOT and problems)"
            }
        );
        out
    }
}

/// What the target answered a `validate_only` request, if it was asked.
fn checked(validated: &Option<Result<(), ValidateOnlyRefusal>>) -> String {
    match validated {
        None => String::new(),
        Some(Ok(())) => "; the target accepts it (validate_only)".to_string(),
        Some(Err(why)) => format!("; REFUSED by the target (validate_only): {why}"),
    }
}

/// A titled list, or nothing when `items` is empty: a table whose first column is at least
/// `width` wide, so that every section's topic names line up.
fn section<T, const N: usize>(
    out: &mut String,
    title: &str,
    items: &[T],
    width: usize,
    cells: impl Fn(&T) -> [String; N],
) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}: {}", items.len());
    let mut table = Table::new(N).indent("  ").min_width(0, width);
    for item in items {
        table.row(cells(item));
    }
    out.push_str(&table.render());
}
