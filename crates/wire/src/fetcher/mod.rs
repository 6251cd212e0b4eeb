//! The fetcher: one Fetch request per leader broker covering many partitions, read_committed
//! filtering, and typed out-of-range errors.

mod config;
mod fetched;
#[allow(clippy::module_inception)]
mod fetcher;
pub mod offsets;
mod scan;
mod shared;

pub use config::{FetchConfig, IsolationLevel};
pub use fetched::{FetchedPartition, VisibleBatches};
pub use fetcher::{FetchPosition, Fetcher, PartitionResult};
pub(crate) use scan::fetch_advancing;
pub use scan::{scan_batches, scan_partition};
pub use shared::{SharedFetcher, PREFETCH_BUDGET};
