//! Runs the test TLS + SASL/SCRAM front in front of a broker, for the demo and for manual
//! experiments: a private CA is generated, its PEM written to `--ca-out`, and the front's
//! address printed on stdout. Runs until killed.
//!
//! `kreplicate-test-front --upstream 127.0.0.1:9092 --user NAME --password PW --ca-out ca.pem`

use std::time::Duration;

use kreplicate_testkit::certs::TestCa;
use kreplicate_testkit::front::{Front, FrontConfig, FrontMechanism, FrontSasl};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut upstream, mut user, mut password, mut ca_out) = (None, None, None, None);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--upstream" => upstream = Some(value),
            "--user" => user = Some(value),
            "--password" => password = Some(value),
            "--ca-out" => ca_out = Some(value),
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    let upstream = upstream.ok_or_else(|| anyhow::anyhow!("--upstream is required"))?;
    let user = user.unwrap_or_else(|| "replicator".into());
    let password = password.ok_or_else(|| anyhow::anyhow!("--password is required"))?;
    let ca_out = ca_out.ok_or_else(|| anyhow::anyhow!("--ca-out is required"))?;

    let ca = TestCa::new("kreplicate demo root CA");
    std::fs::write(&ca_out, ca.cert_pem())?;
    let (cert, key) = ca.issue_server(&["localhost", "127.0.0.1"]);
    let front = Front::start(FrontConfig::new(upstream).with_tls(cert, key).with_sasl(
        FrontSasl::new(
            &[(user.as_str(), password.as_str())],
            &[FrontMechanism::ScramSha256, FrontMechanism::ScramSha512],
        ),
    ))?;
    println!("{}", front.addr());
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
