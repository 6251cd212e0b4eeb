//! The fetcher: [`SharedFetcher`], shared by one reader per partition, sends one Fetch request
//! per leader broker covering many partitions; read_committed filtering, typed out-of-range
//! errors, and helpers to scan a partition or read its offsets.

mod config;
mod fetched;
#[allow(clippy::module_inception)]
mod fetcher;
mod offsets;
mod scan;
mod shared;

pub use config::{FetchConfig, IsolationLevel};
pub use fetched::{FetchedPartition, VisibleBatches};
pub use fetcher::FetchPosition;
test_util_pub! {
    pub use fetcher::Fetcher;
}
pub use offsets::{high_watermark, log_start_offset};
pub(crate) use scan::fetch_advancing;
pub use scan::{scan_batches, scan_partition};
pub use shared::SharedFetcher;
test_util_pub! {
    pub use shared::PREFETCH_BUDGET;
}
