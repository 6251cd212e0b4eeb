//! A reader for the Prometheus / OpenMetrics text exposition: enough to read back the samples
//! kreplicate serves (`status` and the progress line use it). Comment lines (`# HELP`, `# TYPE`,
//! `# EOF`) are skipped; a sample is `name{label="value",…} value [timestamp]`.

use std::fmt;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name, e.g. `kreplicate_message_lag`.
    pub name: String,
    /// Labels in the order written.
    pub labels: Vec<(String, String)>,
    /// The value (`NaN`, `+Inf` and `-Inf` included).
    pub value: f64,
}

impl Sample {
    /// The value of label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A line that is not a valid sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// All samples, plus the metric families declared by `# TYPE` lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    /// Sample lines in order.
    pub samples: Vec<Sample>,
    /// Family names from `# TYPE <name> <type>` lines (a family may have no samples yet).
    pub families: Vec<String>,
}

impl Exposition {
    /// Samples named exactly `name`.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// Sum of the samples named `name` (0 when there are none).
    pub fn sum(&self, name: &str) -> f64 {
        // An empty f64 sum is -0.0, which would print as "-0".
        self.named(name).map(|s| s.value).sum::<f64>() + 0.0
    }

    /// Whether a family or sample with this name exists at all.
    pub fn has(&self, name: &str) -> bool {
        self.families.iter().any(|f| f == name) || self.named(name).next().is_some()
    }
}

/// Parses an exposition.
pub fn parse(text: &str) -> Result<Exposition, ParseError> {
    let mut out = Exposition::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            if words.next() == Some("TYPE") {
                if let Some(name) = words.next() {
                    out.families.push(name.to_owned());
                }
            }
            continue;
        }
        let sample = parse_sample(line).map_err(|message| ParseError {
            line: i + 1,
            message,
        })?;
        out.samples.push(sample);
    }
    Ok(out)
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or_else(|| "a sample needs a value after the metric name".to_owned())?;
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return Err(format!("{name:?} is not a metric name"));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = parse_labels(after, &mut labels)?;
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or_else(|| format!("{name}: no value"))?;
    let value = parse_value(value).ok_or_else(|| format!("{name}: {value:?} is not a number"))?;
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Reads `k="v",…}` and returns what follows the closing brace.
fn parse_labels<'a>(mut s: &'a str, labels: &mut Vec<(String, String)>) -> Result<&'a str, String> {
    loop {
        s = s.trim_start();
        if let Some(after) = s.strip_prefix('}') {
            return Ok(after);
        }
        let eq = s.find('=').ok_or("a label has no '='")?;
        let key = s[..eq].trim().to_owned();
        s = s[eq + 1..].trim_start();
        let body = s.strip_prefix('"').ok_or("a label value must be quoted")?;
        let mut value = String::new();
        let mut chars = body.char_indices();
        let end = loop {
            match chars.next() {
                Some((pos, '"')) => break pos,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated label value".into()),
                },
                Some((_, c)) => value.push(c),
                None => return Err("unterminated label value".into()),
            }
        };
        labels.push((key, value));
        s = body[end + 1..].trim_start();
        if let Some(after) = s.strip_prefix(',') {
            s = after;
        }
    }
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kreplicate_exposition() {
        let text = "# HELP kreplicate_message_lag lag\n# TYPE kreplicate_message_lag gauge\nkreplicate_message_lag{topic=\"orders\",partition=\"2\"} 42\nkreplicate_message_lag{topic=\"a\\\"b\",partition=\"0\"} 8\n# TYPE kreplicate_bytes_in counter\nkreplicate_bytes_in_total 10 1700000000\n# TYPE kreplicate_consumer_group_count gauge\n# EOF\n";
        let e = parse(text).unwrap();
        assert_eq!(e.samples.len(), 3);
        assert_eq!(e.samples[0].label("topic"), Some("orders"));
        assert_eq!(e.samples[0].label("partition"), Some("2"));
        assert_eq!(e.samples[1].label("topic"), Some("a\"b"));
        assert_eq!(e.sum("kreplicate_message_lag"), 50.0);
        assert_eq!(e.sum("kreplicate_bytes_in_total"), 10.0);
        assert_eq!(format!("{}", e.sum("kreplicate_nothing")), "0");
        assert!(e.has("kreplicate_consumer_group_count"));
        assert!(!e.has("kreplicate_nothing"));
    }

    #[test]
    fn special_values_and_errors() {
        let e = parse("a +Inf\nb NaN\nc{} -1.5e3\n").unwrap();
        assert_eq!(e.samples[0].value, f64::INFINITY);
        assert!(e.samples[1].value.is_nan());
        assert_eq!(e.samples[2].value, -1500.0);
        assert_eq!(parse("\nx{a=\"1\"} ten").unwrap_err().line, 2);
        assert!(parse("x{a=1} 1").unwrap_err().message.contains("quoted"));
        assert!(parse("x{a=\"1} 1")
            .unwrap_err()
            .message
            .contains("unterminated"));
        assert!(parse("<html>").is_err());
    }
}
