//! The producer ids a kreplicate process registered on the target, read from its log: a test
//! tells which process wrote a stored batch by its producer id.

use std::collections::BTreeSet;

/// The producer ids in `log`'s "producer id registered on the target" lines (`producer_id=N`,
/// terminal colours or not).
pub fn registered_producer_ids(log: &str) -> BTreeSet<i64> {
    log.lines()
        .filter(|l| l.contains("producer id registered on the target"))
        .filter_map(|l| {
            strip_colours(l)
                .split("producer_id=")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .collect()
}

/// `line` without its ANSI colour sequences (ESC up to `m`).
fn strip_colours(line: &str) -> String {
    let mut plain = String::new();
    let mut escape = false;
    for c in line.chars() {
        match (escape, c) {
            (false, '\u{1b}') => escape = true,
            (true, 'm') => escape = false,
            (true, _) => {}
            (false, c) => plain.push(c),
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ids_with_and_without_colours() {
        let log = "\u{1b}[2m2026\u{1b}[0m INFO producer id registered on the target \u{1b}[3mproducer_id\u{1b}[0m\u{1b}[2m=\u{1b}[0m42 epoch=0\n\
                   INFO something else producer_id=7\n\
                   INFO producer id registered on the target producer_id=1000 epoch=3\n";
        assert_eq!(registered_producer_ids(log), BTreeSet::from([42, 1000]));
    }
}
