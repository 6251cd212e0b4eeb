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

/// Runs kreplicate with only the AWS settings given (none of this machine's), instance
/// metadata off (it is not on loopback) and no AWS config files.
fn kreplicate(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(common::bin());
    cmd.args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("AWS_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.path().join("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("no-credentials"),
        )
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    let child = cmd
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
    let mut args = vec![
        "validate",
        "--replicator-name",
        "external-to-msk",
        "--kafka-clusters",
        files[0].to_str().unwrap(),
        "--replication-info-list",
        files[1].to_str().unwrap(),
        "--log-delivery",
        files[3].to_str().unwrap(),
    ];
    if connect {
        args.push("--connect");
    }
    args
}

/// The external cluster (Kafka cluster id lkc-abc123, as the guide names it) behind TLS +
/// SCRAM-SHA-512, its credentials and CA in one Secrets Manager secret in moto, as the guide
/// allows (`my-creds`), and the CA alone in `my-cert`.
struct External {
    ca: TestCa,
    front: Front,
    _broker: TansuBroker,
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
    External {
        ca,
        front,
        _broker: broker,
    }
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
        "error: source cluster lkc-abc123: no AWS credentials found for secretsmanager:GetSecretValue on \
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
            "error: source cluster lkc-abc123: AWS denied secretsmanager:GetSecretValue on \
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
    let mut files = guide(dir.path(), &ext.front.addr());
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
    let ca_file = dir.path().join("msk-ca.pem");
    std::fs::write(&ca_file, ext.ca.cert_pem()).unwrap();
    let clusters = std::fs::read_to_string(&files[0]).unwrap().replace(
        "\"VpcConfig\"",
        &format!(
            "\"EncryptionInTransit\": {{\"EncryptionType\": \"TLS\", \"RootCaCertificate\": \"file://{}\"}},\n    \"VpcConfig\"",
            ca_file.display()
        ),
    );
    files[0] = dir.path().join("kafka-clusters-ca.json");
    std::fs::write(&files[0], clusters).unwrap();

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
    let out = kreplicate(&validate_args(&files, true), &env);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "{MSK_ARN} at brokers from GetBootstrapBrokers (MSK IAM (SASL/OAUTHBEARER, us-east-1, default AWS credential chain), TLS, CA from file://{})",
            ca_file.display()
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
