//! deploy/kubernetes/ against the CLI: the manifests parse (PyYAML, as kubectl's YAML is
//! read), the container's arguments parse as a `kreplicate` command line, and every path,
//! port and file they name exists: the probe and scrape paths are served, the ports agree
//! with --metrics-addr, the --cli-input-json file is a key of the mounted ConfigMap and is a
//! valid CreateReplicator request, and every file:// secret in it is a key of the mounted
//! Secret.

use std::path::Path;
use std::process::Command;

use clap::Parser;
use hyper::{Method, StatusCode};
use serde_json::Value;

use crate::metrics_server::ServerState;
use crate::{Cli, Command as Sub};

fn manifest(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/kubernetes")
        .join(name);
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(&path)
        .output()
        .expect("python3 runs (with PyYAML) to parse the manifests");
    assert!(
        out.status.success(),
        "{} does not parse as YAML: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("PyYAML's JSON")
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// The file a `file://` URL names, under one of `mounts` (mount path → the keys there).
fn mounted_key<'a>(url: &str, mounts: &'a [(String, Vec<String>)]) -> Option<&'a str> {
    let path = url.strip_prefix("file://")?;
    mounts.iter().find_map(|(dir, keys)| {
        let key = path.strip_prefix(dir.as_str())?.strip_prefix('/')?;
        keys.iter().find(|k| *k == key).map(String::as_str)
    })
}

#[test]
fn kubernetes_manifests_use_only_what_the_cli_has() {
    let deployment = manifest("deployment.yaml");
    let configmap = manifest("configmap.yaml");
    let secret = manifest("secret.yaml");
    assert_eq!(deployment["kind"], "Deployment");
    assert_eq!(configmap["kind"], "ConfigMap");
    assert_eq!(secret["kind"], "Secret");
    assert!(deployment["spec"]["replicas"].as_u64().unwrap() > 1);

    let pod = &deployment["spec"]["template"];
    let container = &pod["spec"]["containers"][0];
    let args: Vec<String> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| str_of(a).replace("$(POD_IP)", "10.1.2.3"))
        .collect();
    // Every flag exists and every value parses, as `kreplicate` itself would read them.
    let cli = Cli::try_parse_from(std::iter::once("kreplicate".to_string()).chain(args))
        .unwrap_or_else(|e| panic!("the Deployment's args do not parse: {e}"));
    let Sub::Run(run) = cli.command else {
        panic!("the Deployment runs `kreplicate run`");
    };
    assert!(!run.standalone, "the pods share the replicator");
    assert_eq!(run.advertise_metrics_addr.as_deref(), Some("10.1.2.3:9464"));

    // Ports: the container port is the one --metrics-addr listens on, the probes and the
    // scrape annotations use it.
    let port = run.metrics_addr.rsplit_once(':').unwrap().1.to_string();
    let ports = container["ports"].as_array().unwrap();
    let metrics_port = ports
        .iter()
        .find(|p| p["containerPort"].as_u64().map(|n| n.to_string()) == Some(port.clone()))
        .unwrap_or_else(|| panic!("no containerPort {port}"));
    let annotations = &pod["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(str_of(&annotations["prometheus.io/port"]), port);
    let state = ServerState::new("source", "target");
    let served = |path: &str| state.respond(&Method::GET, path).status() != StatusCode::NOT_FOUND;
    let scrape_path = str_of(&annotations["prometheus.io/path"]);
    assert!(served(scrape_path), "{scrape_path} is not served");
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/ready")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert!(served(str_of(&get["path"])), "{probe} path is not served");
        assert_eq!(get["port"], metrics_port["name"], "{probe} port");
    }

    // Files: the mounts and what each holds.
    let volumes = pod["spec"]["volumes"].as_array().unwrap();
    let mounts: Vec<(String, Vec<String>)> = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let volume = volumes.iter().find(|v| v["name"] == m["name"]).unwrap();
            let keys: Vec<String> = if let Some(cm) = volume["configMap"]["name"].as_str() {
                assert_eq!(configmap["metadata"]["name"], cm);
                configmap["data"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .cloned()
                    .collect()
            } else {
                let name = str_of(&volume["secret"]["secretName"]);
                assert_eq!(secret["metadata"]["name"], name);
                secret["stringData"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .cloned()
                    .collect()
            };
            (str_of(&m["mountPath"]).to_string(), keys)
        })
        .collect();
    let input = run
        .config
        .cli_input_json
        .as_deref()
        .expect("--cli-input-json");
    let key = mounted_key(input, &mounts)
        .unwrap_or_else(|| panic!("{input} is not a key of a mounted ConfigMap or Secret"));
    let json = str_of(&configmap["data"][key]);
    kreplicate_replicate::CreateReplicatorRequest::parse(json)
        .unwrap_or_else(|e| panic!("{key} is not a CreateReplicator request: {e}"));
    let secrets: Vec<&str> = json
        .split('"')
        .filter(|s| s.starts_with("file://"))
        .collect();
    assert!(
        !secrets.is_empty(),
        "the example reads a secret from a file"
    );
    for url in secrets {
        assert!(
            mounted_key(url, &mounts).is_some(),
            "{url} is not a key of a mounted Secret"
        );
    }
    let source = str_of(&secret["stringData"]["source.json"]);
    let fields: Value = serde_json::from_str(source).expect("the secret is JSON");
    for field in ["username", "password", "certificate"] {
        assert!(fields[field].is_string(), "the secret lacks {field}");
    }
}
