//! The engine's main loop (being built).

use std::sync::Arc;

use kreplicate_wire::client::Client;
use tokio::sync::watch;

use crate::config::ReplicatorConfig;
use crate::error::EngineError;
use crate::metrics::ReplicatorMetrics;
use crate::options::EngineOptions;

pub(crate) async fn run(
    _config: Arc<ReplicatorConfig>,
    _options: EngineOptions,
    _source: Client,
    _target: Client,
    _metrics: Arc<ReplicatorMetrics>,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), EngineError> {
    let _ = stopped.wait_for(|s| *s).await;
    Ok(())
}
