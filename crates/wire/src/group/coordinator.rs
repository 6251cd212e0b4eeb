//! Talking to a group's coordinator with the retries coordinator moves call for.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use crate::protocol::BrokerErrorKind;

use crate::admin::rounds::Rounds;
use crate::client::{Client, Error, Result};
use crate::connection::BrokerConnection;
use crate::protocol::BrokerError;

/// Codes after which the group's coordinator must be looked up again.
pub(crate) fn is_coordinator_error(e: &BrokerError) -> bool {
    matches!(
        e.kind(),
        BrokerErrorKind::NotCoordinator
            | BrokerErrorKind::CoordinatorNotAvailable
            | BrokerErrorKind::CoordinatorLoadInProgress
    )
}

/// A broker error about `group`, with the broker's own message after the group's name.
pub(crate) fn group_error(
    api: &'static str,
    code: i16,
    group: &str,
    broker: &str,
    broker_message: Option<&str>,
) -> BrokerError {
    let text = match broker_message.filter(|m| !m.is_empty()) {
        Some(m) => format!("group '{group}': {m}"),
        None => format!("group '{group}'"),
    };
    BrokerError::new(api, code)
        .with_broker(broker)
        .with_message(Some(text))
}

/// Runs `op` on `group`'s coordinator under the client's retry policy. Coordinator errors
/// and connection failures make the client forget the coordinator before the next attempt.
pub(crate) async fn with_coordinator<T, F, Fut>(client: &Client, group: &str, op: F) -> Result<T>
where
    F: Fn(Arc<BrokerConnection>) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let op = &op;
    client
        .retry_policy()
        .run(
            || async move {
                let conn = client.coordinator(group).await?;
                op(conn).await
            },
            |e: &Error| {
                tracing::debug!(group, error = %e, "retrying a group request");
                if forgets_coordinator(e) {
                    client.invalidate_coordinator(group);
                }
            },
        )
        .await
}

fn forgets_coordinator(e: &Error) -> bool {
    match e {
        Error::Broker(b) => is_coordinator_error(b),
        Error::Connection(c) => c.is_retriable(),
        _ => false,
    }
}

/// Sends one request per coordinator for `groups` (concurrently), in rounds: groups
/// answered with a coordinator error, or lost to a connection failure, are sent again after
/// their coordinator is looked up anew. Returns each group's final outcome.
pub(crate) async fn by_coordinator<T, F, Fut>(
    client: &Client,
    api: &'static str,
    groups: &[String],
    send: F,
) -> Result<BTreeMap<String, Result<T, BrokerError>>>
where
    F: Fn(Arc<BrokerConnection>, Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<(String, Result<T, BrokerError>)>>>,
{
    let mut outcomes = BTreeMap::new();
    let mut pending: Vec<String> = groups.to_vec();
    pending.sort();
    pending.dedup();
    let mut rounds = Rounds::new(client.retry_policy());
    let send = &send;
    loop {
        let mut failed: Option<Error> = None;
        let mut by_broker: BTreeMap<String, (Arc<BrokerConnection>, Vec<String>)> = BTreeMap::new();
        for group in std::mem::take(&mut pending) {
            match client.coordinator(&group).await {
                Ok(conn) => {
                    by_broker
                        .entry(conn.broker().to_string())
                        .or_insert_with(|| (conn, Vec::new()))
                        .1
                        .push(group);
                }
                Err(Error::Broker(e)) if e.is_retriable() => {
                    outcomes.insert(group.clone(), Err(e));
                    pending.push(group);
                }
                Err(Error::Broker(e)) => {
                    outcomes.insert(group, Err(e));
                }
                Err(e) if e.is_retriable() => {
                    failed = Some(e);
                    pending.push(group);
                }
                Err(e) => return Err(e),
            }
        }
        let requests = by_broker
            .into_iter()
            .map(|(broker, (conn, batch))| async move {
                let result = send(conn, batch.clone()).await;
                (broker, batch, result)
            });
        for (broker, batch, result) in futures::future::join_all(requests).await {
            match result {
                Ok(answers) => {
                    let mut answered = Vec::new();
                    for (group, answer) in answers {
                        if !batch.contains(&group) {
                            continue;
                        }
                        answered.push(group.clone());
                        match answer {
                            Err(e) if is_coordinator_error(&e) => {
                                client.invalidate_coordinator(&group);
                                outcomes.insert(group.clone(), Err(e));
                                pending.push(group);
                            }
                            answer => {
                                outcomes.insert(group, answer);
                            }
                        }
                    }
                    if let Some(missing) = batch.iter().find(|g| !answered.contains(*g)) {
                        return Err(Error::protocol(
                            api,
                            broker,
                            format!("the response has no result for group '{missing}'"),
                        ));
                    }
                }
                Err(e) if e.is_retriable() => {
                    for group in &batch {
                        client.invalidate_coordinator(group);
                    }
                    pending.extend(batch);
                    failed = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        if pending.is_empty() {
            break;
        }
        if !rounds.wait().await {
            if let Some(e) = failed {
                if pending.iter().any(|g| !outcomes.contains_key(g)) {
                    return Err(e);
                }
            }
            break;
        }
    }
    Ok(outcomes)
}
