//! Resolving secrets from files and environment variables.

use std::io::Write;

use crate::config::{Secret, SecretError, SecretRef};

fn write_temp(content: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(content.as_bytes()).unwrap();
    file
}

const SCRAM: &str = r#"{"username": "replicator", "password": "s3cr3t-pa55", "certificate": "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"}"#;
const MTLS: &str = r#"{"certificate": "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n", "privateKey": "-----BEGIN PRIVATE KEY-----\nK3Y-MATERIAL\n-----END PRIVATE KEY-----\n", "privateKeyPassword": "k3y-pa55"}"#;

#[test]
fn scram_secret_from_file_url() {
    let file = write_temp(SCRAM);
    let reference = SecretRef::parse(&format!("file://{}", file.path().display())).unwrap();
    let secret = reference.resolve().unwrap();
    assert_eq!(secret.username().unwrap(), "replicator");
    assert_eq!(secret.password().unwrap(), "s3cr3t-pa55");
    assert_eq!(
        secret.certificate().unwrap(),
        "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
    );
    assert_eq!(secret.private_key_password(), None);
}

#[test]
fn mtls_secret_from_plain_path() {
    let file = write_temp(MTLS);
    let secret = SecretRef::parse(&file.path().display().to_string())
        .unwrap()
        .resolve()
        .unwrap();
    assert!(secret.certificate().unwrap().contains("CLIENT"));
    assert!(secret.private_key().unwrap().contains("K3Y-MATERIAL"));
    assert_eq!(secret.private_key_password(), Some("k3y-pa55"));
}

#[test]
fn secret_from_environment_variable() {
    let var = "KREPLICATE_TEST_SECRET_FROM_ENV";
    std::env::set_var(var, SCRAM);
    let secret = SecretRef::parse(&format!("env:{var}"))
        .unwrap()
        .resolve()
        .unwrap();
    std::env::remove_var(var);
    assert_eq!(secret.username().unwrap(), "replicator");
    assert_eq!(secret.password().unwrap(), "s3cr3t-pa55");
    assert_eq!(
        secret.origin(),
        "secret in environment variable KREPLICATE_TEST_SECRET_FROM_ENV"
    );
}

#[test]
fn unset_environment_variable_is_named() {
    let var = "KREPLICATE_TEST_SECRET_NEVER_SET";
    std::env::remove_var(var);
    let err = SecretRef::Env(var.into()).resolve().unwrap_err();
    assert!(matches!(err, SecretError::EnvNotSet { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "environment variable KREPLICATE_TEST_SECRET_NEVER_SET is not set (it should hold the secret JSON)"
    );
}

#[test]
fn missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.json");
    let err = SecretRef::File(path.clone())
        .resolve()
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("cannot read secret file {}: ", path.display())),
        "{err}"
    );
}

#[test]
fn missing_key_names_the_file_and_key() {
    let file = write_temp(r#"{"username": "replicator"}"#);
    let secret = SecretRef::File(file.path().to_owned()).resolve().unwrap();
    assert_eq!(secret.username().unwrap(), "replicator");
    let err = secret.password().unwrap_err();
    assert!(
        matches!(
            err,
            SecretError::MissingKey {
                key: "password",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "secret file {}: missing key \"password\"",
            file.path().display()
        )
    );
    assert_eq!(
        secret.private_key().unwrap_err().to_string(),
        format!(
            "secret file {}: missing key \"privateKey\"",
            file.path().display()
        )
    );
}

#[test]
fn missing_key_in_environment_secret_names_the_variable() {
    let var = "KREPLICATE_TEST_SECRET_MISSING_KEY";
    std::env::set_var(var, r#"{"password": "p"}"#);
    let secret = SecretRef::Env(var.into()).resolve().unwrap();
    std::env::remove_var(var);
    assert_eq!(
        secret.username().unwrap_err().to_string(),
        "secret in environment variable KREPLICATE_TEST_SECRET_MISSING_KEY: missing key \"username\""
    );
}

#[test]
fn bad_json_names_the_file_without_quoting_it() {
    let file = write_temp("{\"username\": \"u\", \"password\": \"hunter2\"");
    let err = SecretRef::File(file.path().to_owned())
        .resolve()
        .unwrap_err();
    assert!(matches!(err, SecretError::Json { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "secret file {}: not valid JSON: ",
            file.path().display()
        )),
        "{text}"
    );
    assert!(text.contains("line 1 column"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn debug_redacts_password_and_private_key() {
    let secret = Secret::parse("test secret", SCRAM).unwrap();
    let shown = format!("{secret:?}");
    assert_eq!(
        shown,
        "Secret { origin: \"test secret\", username: Some(\"replicator\"), password: Some(<redacted>), certificate: Some(<57 bytes>), private_key: None, private_key_password: None }"
    );

    let secret = Secret::parse("client", MTLS).unwrap();
    let shown = format!("{secret:#?}");
    assert!(!shown.contains("K3Y-MATERIAL"), "{shown}");
    assert!(!shown.contains("k3y-pa55"), "{shown}");
    assert!(
        shown.contains("private_key: Some(\n        <redacted>,\n    )"),
        "{shown}"
    );
}

#[test]
fn arn_reference_fails_at_resolve_time_not_parse_time() {
    let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:kafka-scram-creds-a1B2c3";
    let reference = SecretRef::parse(arn).unwrap();
    assert_eq!(reference, SecretRef::Arn(arn.into()));
    let err = reference.resolve().unwrap_err();
    assert!(
        matches!(err, SecretError::AwsSecretsManager { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(arn));
}

#[test]
fn bare_pem_file_serves_as_a_root_ca() {
    let pem = "-----BEGIN CERTIFICATE-----\nROOT\n-----END CERTIFICATE-----\n";
    let file = write_temp(pem);
    let secret = SecretRef::File(file.path().to_owned()).resolve().unwrap();
    assert_eq!(secret.certificate().unwrap(), pem);
    assert!(matches!(
        secret.username().unwrap_err(),
        SecretError::MissingKey {
            key: "username",
            ..
        }
    ));
}
