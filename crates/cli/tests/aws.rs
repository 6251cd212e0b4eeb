//! The MSK migration guide's own files (tests/aws/guide/, placeholders filled) against a local
//! stand-in for AWS: moto's Secrets Manager, a fake GetBootstrapBrokers, the external cluster
//! behind the TLS + SCRAM front and the "MSK" cluster behind the IAM front. Each AWS error is
//! one `error:` line naming the action and resource, with its exit code.
#![cfg(feature = "aws")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::Output;
use kreplicate_testkit::certs::TestCa;
use kreplicate_testkit::fake_msk_api::FakeMskApi;
use kreplicate_testkit::front::{Front, FrontConfig, FrontMechanism, FrontMskIam, FrontSasl};
use kreplicate_testkit::secrets_manager::SecretsManagerExt;
use kreplicate_testkit::tansu::{MotoServer, TansuBroker, TansuOptions};

const T: Duration = Duration::from_secs(60);
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const MSK_ARN: &str = "arn:aws:kafka:us-east-1:123456789012:cluster/my-cluster/abc-123";
const KEY_ID: &str = "AKIAKREPLICATECLI";
const SECRET_KEY: &str = "cli/test+secret";
const SCRAM_PASSWORD: &str = "scram-pw";

fn guide_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/aws/guide")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The guide's files with the placeholders filled: region, account, the external cluster's
/// host and the log group. Returns (kafka-clusters, replication-info, reverse
/// replication-info, log-delivery) paths.
fn guide(dir: &Path, external: &str) -> [PathBuf; 4] {
    let fill = |text: String| {
        text.replace("<REGION>", REGION)
            .replace("<ACCOUNT_ID>", ACCOUNT)
            .replace("broker1.example.com:9096", external)
            .replace("<LOG_GROUP_NAME>", "kreplicate-test")
    };
    let clusters = fill(guide_file("kafka-clusters.json"));
    let info = fill(guide_file("replication-info.json"));
    // The reverse replicator, as the guide's README describes it: source and target swapped.
    let forward_refs = format!(
        "\"SourceKafkaClusterId\": \"lkc-abc123\",\n    \"TargetKafkaClusterArn\": \"{MSK_ARN}\","
    );
    assert!(info.contains(&forward_refs), "{info}");
    let reverse = info.replace(
        &forward_refs,
        &format!(
            "\"SourceKafkaClusterArn\": \"{MSK_ARN}\",\n    \"TargetKafkaClusterId\": \"lkc-abc123\","
        ),
    );
    let log = fill(guide_file("log-delivery.json"));
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    [
        write("kafka-clusters.json", &clusters),
        write("replication-info.json", &info),
        write("reverse-replication-info.json", &reverse),
        write("log-delivery.json", &log),
    ]
}

/// kreplicate with only the AWS settings given (none of this machine's), instance metadata
/// off (it is not on loopback) and no AWS config files (`dir` holds none).
fn command(args: &[&str], env: &[(&str, &str)], dir: &Path) -> Command {
    let mut cmd = Command::new(common::bin());
    cmd.args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("AWS_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    cmd
}

/// Runs kreplicate to completion (at most `T`).
fn kreplicate(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let child = command(args, env, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let out = rx
        .recv_timeout(T)
        .expect("kreplicate did not finish in time")
        .unwrap();
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn validate_args(files: &[PathBuf; 4], connect: bool) -> Vec<&str> {
    let mut args = guide_args("validate", files, false);
    if connect {
        args.push("--connect");
    }
    args
}

/// `COMMAND` with the guide's files, forward (`external-to-msk`) or reverse.
fn guide_args<'a>(command: &'a str, files: &'a [PathBuf; 4], reverse: bool) -> Vec<&'a str> {
    let (name, info) = if reverse {
        ("msk-to-external", &files[2])
    } else {
        ("external-to-msk", &files[1])
    };
    let mut args = vec![
        command,
        "--replicator-name",
        name,
        "--kafka-clusters",
        files[0].to_str().unwrap(),
        "--replication-info-list",
        info.to_str().unwrap(),
    ];
    args.extend(["--log-delivery", files[3].to_str().unwrap()]);
    args
}

/// The external cluster (Kafka cluster id lkc-abc123, as the guide names it) behind TLS +
/// SCRAM-SHA-512, its credentials and CA in one Secrets Manager secret in moto, as the guide
/// allows (`my-creds`), and the CA alone in `my-cert`.
struct External {
    ca: TestCa,
    front: Front,
    broker: TansuBroker,
}

fn external(moto: &MotoServer) -> External {
    let broker = TansuBroker::start(TansuOptions {
        cluster_id: Some("lkc-abc123".into()),
        ..TansuOptions::default()
    })
    .unwrap();
    let ca = TestCa::new("external CA");
    let (cert, key) = ca.issue_server(&["127.0.0.1"]);
    let front = Front::start(
        FrontConfig::new(broker.addr())
            .with_tls(cert, key)
            .with_sasl(FrontSasl::new(
                &[("msk-replicator", SCRAM_PASSWORD)],
                &[FrontMechanism::ScramSha512],
            )),
    )
    .unwrap();
    let creds = serde_json::json!({
        "username": "msk-replicator", "password": SCRAM_PASSWORD, "certificate": ca.cert_pem()
    });
    moto.create_secret(REGION, "my-creds", &creds.to_string())
        .unwrap();
    let cert = serde_json::json!({"certificate": ca.cert_pem()});
    moto.create_secret(REGION, "my-cert", &cert.to_string())
        .unwrap();
    External { ca, front, broker }
}

/// The guide's MSK entry trusts the system roots, as MSK's public certificates are: the test
/// fronts' CA is made the system store of the kreplicate child through `SSL_CERT_FILE`, and the
/// guide's file stays as printed.
fn system_store_with(dir: &Path, ca: &TestCa) -> String {
    let ca_file = dir.join("system-roots.pem");
    std::fs::write(&ca_file, ca.cert_pem()).unwrap();
    ca_file.display().to_string()
}

fn keys() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
    ]
}

#[test]
fn no_credentials_names_the_chain_that_was_tried() {
    let dir = tempfile::tempdir().unwrap();
    let files = guide(dir.path(), "127.0.0.1:9");
    // Never reached: credentials are looked for first.
    let out = kreplicate(
        &validate_args(&files, false),
        &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")],
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_eq!(
        out.error_line(),
        "error: source cluster lkc-abc123: EncryptionInTransit.RootCaCertificate: no AWS credentials found for secretsmanager:GetSecretValue on \
         arn:aws:secretsmanager:us-east-1:123456789012:secret:my-cert; tried environment variables \
         (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), profile \"default\" (~/.aws/config, ~/.aws/credentials), \
         web identity token (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN), ECS container credentials \
         (AWS_CONTAINER_CREDENTIALS_*_URI), EC2 instance metadata (IMDS)"
    );
}

#[test]
fn access_denied_names_the_action_and_the_resource() {
    let dir = tempfile::tempdir().unwrap();
    let moto = MotoServer::start().unwrap();
    let ext = external(&moto);
    let files = guide(dir.path(), &ext.front.addr());
    let api = FakeMskApi::start().unwrap();
    api.deny(KEY_ID);

    // secretsmanager:GetSecretValue refused (Secrets Manager's AccessDeniedException).
    let mut env = keys();
    let endpoint = api.endpoint();
    env.push(("AWS_ENDPOINT_URL_SECRETS_MANAGER", &endpoint));
    let out = kreplicate(&validate_args(&files, false), &env);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_eq!(
        out.error_line(),
        format!(
            "error: source cluster lkc-abc123: EncryptionInTransit.RootCaCertificate: AWS denied secretsmanager:GetSecretValue on \
             arn:aws:secretsmanager:us-east-1:123456789012:secret:my-cert: User: \
             arn:aws:iam::123456789012:user/{KEY_ID} is not authorized to perform: \
             secretsmanager:GetSecretValue because no identity-based policy allows the \
             secretsmanager:GetSecretValue action"
        )
    );

    // Secrets from moto, but kafka:GetBootstrapBrokers refused (403 ForbiddenException).
    let mut env = keys();
    let moto_endpoint = moto.endpoint();
    env.push(("AWS_ENDPOINT_URL", &moto_endpoint));
    env.push(("AWS_ENDPOINT_URL_KAFKA", &endpoint));
    let out = kreplicate(&validate_args(&files, false), &env);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_eq!(
        out.error_line(),
        format!(
            "error: target cluster: AWS denied kafka:GetBootstrapBrokers on {MSK_ARN}: User: \
             arn:aws:iam::123456789012:user/{KEY_ID} is not authorized to perform: \
             kafka:GetBootstrapBrokers on resource: {MSK_ARN}"
        )
    );
    assert_eq!(api.calls(), 2);
    drop(ext.ca);
}

#[test]
fn msk_found_by_arn_with_iam_and_connect_denied_for_a_wrong_key() {
    let dir = tempfile::tempdir().unwrap();
    let moto = MotoServer::start().unwrap();
    let ext = external(&moto);
    let files = guide(dir.path(), &ext.front.addr());
    // The "MSK" cluster: a Tansu broker behind the IAM front. The guide's MSK entry trusts the
    // system roots; here the front's test CA is given to it (the one change to the file).
    let target = TansuBroker::memory().unwrap();
    let (cert, key) = ext.ca.issue_server(&["127.0.0.1"]);
    let iam = Front::start(
        FrontConfig::new(target.addr())
            .with_tls(cert.clone(), key.clone())
            .with_msk_iam(FrontMskIam::new(REGION, KEY_ID, SECRET_KEY)),
    )
    .unwrap();
    let system_store = system_store_with(dir.path(), &ext.ca);
    let api = FakeMskApi::start().unwrap();
    api.add_cluster(
        MSK_ARN,
        serde_json::json!({
            "bootstrapBrokerStringTls": "127.0.0.1:1",
            "bootstrapBrokerStringSaslIam": iam.addr(),
        }),
    );
    let moto_endpoint = moto.endpoint();
    let api_endpoint = api.endpoint();
    let mut env = keys();
    env.push(("AWS_ENDPOINT_URL", &moto_endpoint));
    env.push(("AWS_ENDPOINT_URL_KAFKA", &api_endpoint));
    env.push(("SSL_CERT_FILE", &system_store));
    let out = kreplicate(&validate_args(&files, true), &env);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "{MSK_ARN} at brokers from GetBootstrapBrokers (MSK IAM (SASL/OAUTHBEARER, us-east-1, default AWS credential chain), TLS, system CA roots)"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(iam.auth_successes(), 1);
    assert!(ext.front.auth_successes() >= 1);

    // The same key with another secret: MSK refuses kafka-cluster:Connect (exit 1).
    let wrong = Front::start(
        FrontConfig::new(target.addr())
            .with_tls(cert, key)
            .with_msk_iam(FrontMskIam::new(REGION, KEY_ID, "not the secret")),
    )
    .unwrap();
    let mut args = validate_args(&files, true);
    let given = format!("{MSK_ARN}={}", wrong.addr());
    args.extend(["--msk-bootstrap", &given]);
    let calls = api.calls();
    let out = kreplicate(&args, &env);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let line = out.error_line();
    let expected = format!(
        "error: target cluster {MSK_ARN}: SASL OAUTHBEARER authentication to broker {} failed: the broker rejected the OAUTHBEARER token (kafka-cluster:Connect by AWS access key {KEY_ID}): [",
        wrong.addr()
    );
    assert!(line.starts_with(&expected), "{line}");
    assert!(line.ends_with("]: Access denied"), "{line}");
    // --msk-bootstrap: GetBootstrapBrokers was not asked.
    assert_eq!(api.calls(), calls);
    assert_eq!(
        wrong.last_auth_failure().as_deref(),
        Some("signature mismatch")
    );
}

/// A `kreplicate run` in the background, stopped with SIGINT (or killed on drop).
struct Run {
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl Run {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let stdout = std::fs::File::create(dir.path().join("stdout")).unwrap();
        let stderr = std::fs::File::create(dir.path().join("stderr")).unwrap();
        let child = command(args, env, dir.path())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap();
        Run { child, dir }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    /// SIGINT, then the exit code (bounded).
    fn stop(mut self) -> Option<i32> {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("kreplicate did not stop after SIGINT: {}", self.stderr());
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `verify` until it reports EQUAL (at most `attempts` times), returning its output.
fn verify_until_equal(args: &[&str], env: &[(&str, &str)], run: &Run, attempts: u32) -> String {
    let mut last = String::new();
    for _ in 0..attempts {
        let out = kreplicate(args, env);
        if out.code == Some(0) && out.stdout.contains("EQUAL") {
            return out.stdout;
        }
        last = format!("{}{}", out.stdout, out.stderr);
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!(
        "never EQUAL; last verify: {last}\nreplicator: {}",
        run.stderr()
    );
}

fn value(i: usize) -> Vec<u8> {
    format!("guide-record-{i}").into_bytes()
}

/// The acceptance: the guide's files (placeholders filled, nothing else changed; the test CA
/// in the system store, see [`system_store_with`]) pass `validate --connect`, then the forward replicator copies
/// records, topic configs and group offsets from the external cluster (TLS + SCRAM, secrets in
/// Secrets Manager) to "MSK" (IAM, found through GetBootstrapBrokers) with `verify` EQUAL,
/// keeps copying across IAM token refreshes (3-second tokens), and the reverse replicator copies
/// what is written on MSK after the cut-over back, and nothing twice.
#[test]
fn the_guides_files_replicate_forward_and_reverse() {
    use kreplicate_testkit::python::{self, PyRecord};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let moto = MotoServer::start().unwrap();
    let ext = external(&moto);
    let files = guide(dir.path(), &ext.front.addr());
    let system_store = system_store_with(dir.path(), &ext.ca);
    let msk = TansuBroker::memory().unwrap();
    let (cert, key) = ext.ca.issue_server(&["127.0.0.1"]);
    let iam = Front::start(
        FrontConfig::new(msk.addr())
            .with_tls(cert, key)
            .with_msk_iam(FrontMskIam::new(REGION, KEY_ID, SECRET_KEY)),
    )
    .unwrap();
    let api = FakeMskApi::start().unwrap();
    api.add_cluster(
        MSK_ARN,
        serde_json::json!({"bootstrapBrokerStringSaslIam": iam.addr()}),
    );
    let moto_endpoint = moto.endpoint();
    let api_endpoint = api.endpoint();
    let mut env = keys();
    env.push(("AWS_ENDPOINT_URL", &moto_endpoint));
    env.push(("AWS_ENDPOINT_URL_KAFKA", &api_endpoint));
    env.push(("SSL_CERT_FILE", &system_store));

    // The external cluster's data: my-topic with a config to copy, 40 records, and my-group
    // having consumed 25 of them.
    let source = ext.broker.addr();
    rt.block_on(async {
        python::create_topic(&source, "my-topic", 2, &[("retention.ms", "7200000")])
            .await
            .unwrap();
        let records: Vec<PyRecord> = (0..40)
            .map(|i| PyRecord {
                partition: Some((i % 2) as i32),
                key: Some(format!("k{i}").into_bytes()),
                value: Some(value(i)),
                ..PyRecord::default()
            })
            .collect();
        python::produce(&source, "my-topic", &records, "none", &[])
            .await
            .unwrap();
        python::alter_group_offsets(
            &source,
            "my-group",
            &[("my-topic", 0, 12), ("my-topic", 1, 13)],
        )
        .await
        .unwrap();
    });

    let out = kreplicate(&validate_args(&files, true), &env);
    assert_eq!(out.code, Some(0), "{}", out.stderr);

    // Forward, with 3-second IAM tokens: the run outlives many of them.
    let mut forward_args = guide_args("run", &files, false);
    forward_args.extend(["--msk-iam-token-lifetime", "3s"]);
    // The front ends every session with its 3-second token, pending requests included, and
    // Tansu answers a worker-group JoinGroup only after about half the session timeout: a 2 s
    // session keeps the join well inside one token's lifetime (docs/test-brokers.md).
    forward_args.extend(["--worker-session-timeout", "2s"]);
    let started = std::time::Instant::now();
    let forward = Run::start(&forward_args, &env);
    let verdict = verify_until_equal(&guide_args("verify", &files, false), &env, &forward, 120);
    assert!(
        verdict.contains("EQUAL: 2 partitions verified"),
        "{verdict}"
    );
    let target = msk.addr();
    rt.block_on(async {
        let config = python::describe_topic_config(&target, "my-topic")
            .await
            .unwrap();
        assert_eq!(
            config.get("retention.ms").cloned().flatten().as_deref(),
            Some("7200000")
        );
        let mut offsets = Vec::new();
        for _ in 0..120 {
            offsets = python::group_offsets(&target, "my-group").await.unwrap();
            if offsets.len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert_eq!(
            offsets,
            vec![
                ("my-topic".to_owned(), 0, 12),
                ("my-topic".to_owned(), 1, 13)
            ],
            "{}",
            forward.stderr()
        );
    });
    // Sessions end with their tokens (the front closes them) and the replicator logs in again
    // with new ones: once the run has outlived two token lifetimes, records written now are
    // still copied.
    let logins = iam.auth_successes();
    for _ in 0..240 {
        if iam.auth_successes() >= logins + 2 && started.elapsed() > Duration::from_secs(6) {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(iam.auth_successes() >= logins + 2, "{}", forward.stderr());
    rt.block_on(async {
        let records: Vec<PyRecord> = (40..44)
            .map(|i| PyRecord {
                partition: Some((i % 2) as i32),
                value: Some(value(i)),
                ..PyRecord::default()
            })
            .collect();
        python::produce(&source, "my-topic", &records, "none", &[])
            .await
            .unwrap();
    });
    verify_until_equal(&guide_args("verify", &files, false), &env, &forward, 120);
    assert_eq!(forward.stop(), Some(0));
    assert_eq!(iam.auth_failures(), 0, "{:?}", iam.last_auth_failure());

    // Cut-over: clients now write to MSK; the reverse replicator copies that back.
    rt.block_on(async {
        let records: Vec<PyRecord> = (44..54)
            .map(|i| PyRecord {
                partition: Some((i % 2) as i32),
                value: Some(value(i)),
                ..PyRecord::default()
            })
            .collect();
        python::produce(&target, "my-topic", &records, "none", &[])
            .await
            .unwrap();
    });
    let reverse = Run::start(&guide_args("run", &files, true), &env);
    let verdict = verify_until_equal(&guide_args("verify", &files, true), &env, &reverse, 120);
    assert!(verdict.contains("EQUAL"), "{verdict}");
    assert_eq!(reverse.stop(), Some(0));
    let back = rt
        .block_on(python::consume(
            &source,
            "my-topic",
            python::Partitions::All,
            54,
            python::Isolation::ReadCommitted,
            Duration::from_secs(60),
        ))
        .unwrap();
    // Exactly the 10 new records came back, the 44 that came from here were not copied
    // again: the next record on each partition gets offset 27. (Tansu's ListOffsets latest is
    // wrong, docs/test-brokers.md; a produce answer's offset is right.)
    let marker = |p: i32| PyRecord {
        partition: Some(p),
        value: Some(b"marker".to_vec()),
        ..PyRecord::default()
    };
    let next = rt
        .block_on(python::produce(
            &source,
            "my-topic",
            &[marker(0), marker(1)],
            "none",
            &[],
        ))
        .unwrap();
    assert_eq!(next, vec![(0, 27), (1, 27)]);
    let mut values: Vec<Vec<u8>> = back.into_iter().filter_map(|r| r.value).collect();
    values.sort();
    let mut expected: Vec<Vec<u8>> = (0..54).map(value).collect();
    expected.sort();
    assert_eq!(values, expected);
}

#[test]
fn msk_options_are_checked_before_anything_connects() {
    let dir = tempfile::tempdir().unwrap();
    let files = guide(dir.path(), "127.0.0.1:9");
    let other = "arn:aws:kafka:us-east-1:123456789012:cluster/other/x";
    let cases = [
        (
            ["--msk-bootstrap", "nope"].map(String::from),
            "error: --msk-bootstrap \"nope\": expected ARN=HOST:PORT[,HOST:PORT]".to_owned(),
        ),
        (
            ["--msk-bootstrap".into(), format!("{MSK_ARN}=")],
            format!(
                "error: --msk-bootstrap \"{MSK_ARN}=\": give the brokers as HOST:PORT[,HOST:PORT]"
            ),
        ),
        (
            ["--msk-bootstrap".into(), format!("{other}=b-1:9098")],
            format!(
                "error: --msk-bootstrap \"{other}=b-1:9098\": the ARN is not the MskClusterArn of the source or target cluster"
            ),
        ),
        (
            ["--msk-iam-token-lifetime", "2h"].map(String::from),
            "error: --msk-iam-token-lifetime 2h: must be from 1s to 1h".to_owned(),
        ),
    ];
    for (extra, expected) in &cases {
        let mut args = validate_args(&files, false);
        args.extend(extra.iter().map(String::as_str));
        // No credentials and no endpoint: the options fail first.
        let out = kreplicate(&args, &[]);
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert_eq!(out.error_line(), expected);
    }
}
