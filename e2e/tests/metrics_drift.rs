//! The dashboard and the alert rules cannot drift from the services: every metric name they
//! select is taken from docs/monitoring/ and looked for on the `/metrics` page of the service
//! that owns it (by name: `venus_<component>_…`; `process_*` on every service; `rpc_*` on at
//! least one). A family counts as served from its `# TYPE` line too, but prometheus-client
//! 0.26 writes none for a family without series (`Registry` skips `is_empty()` metrics), so a
//! labelled family shows only once observed, or once venus-rpc writes those lines itself.
//!
//! The scrape runs against the whole chain service as processes (`venus_e2e::stack`: auth,
//! gateway, node, wallet, prover, plus venus-messager and venus-miner started here), after the
//! miner mined a block and a message went through the messager.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use venus_api::messager as messager_api;
use venus_e2e::command::run;
use venus_e2e::fixture::free_port;
use venus_e2e::monitoring::{Exposition, PROMETHEUS_SERIES, load_docs, referenced_metrics};
use venus_e2e::stack::{Spec, Stack, StackOptions, eventually, wait_http};
use venus_rpc::Client;
use venus_types::{Base64Bytes, TokenAmount};

/// Scrape job (binary) of each component prefix; the rules' `job` label says the same.
const OWNERS: [(&str, &str); 5] = [
    ("venus_auth_", "venus-auth"),
    ("venus_gateway_", "venus-gateway"),
    ("venus_node_", "venus"),
    ("venus_messager_", "venus-messager"),
    ("venus_miner_", "venus-miner"),
];

/// Who must serve a referenced name.
#[derive(Debug, PartialEq, Eq)]
enum Owner {
    /// The one service whose prefix it carries.
    Job(&'static str),
    /// Every service (the process collector).
    Every,
    /// At least one service (the shared RPC layer's metrics).
    Any,
    /// Prometheus itself (`up`, `ALERTS`).
    Prometheus,
    /// A name no service would serve: a typo or a foreign metric.
    Unknown,
}

fn owner(name: &str) -> Owner {
    if PROMETHEUS_SERIES.contains(&name) {
        return Owner::Prometheus;
    }
    if let Some((_, job)) = OWNERS.iter().find(|(prefix, _)| name.starts_with(prefix)) {
        return Owner::Job(job);
    }
    if name.starts_with("process_") {
        Owner::Every
    } else if name.starts_with("rpc_") {
        Owner::Any
    } else {
        Owner::Unknown
    }
}

/// What the scrape found wanting: names no running service offers (with where they are
/// used), and names left unchecked because their service was not running.
#[derive(Debug, Default)]
struct Verdict {
    missing: Vec<String>,
    unchecked: BTreeMap<&'static str, Vec<String>>,
}

fn judge(
    refs: &BTreeMap<String, BTreeSet<String>>,
    scraped: &BTreeMap<&str, Exposition>,
) -> Verdict {
    let mut verdict = Verdict::default();
    for (name, uses) in refs {
        let used = uses.iter().cloned().collect::<Vec<_>>().join(", ");
        let lacking: Vec<&str> = match owner(name) {
            Owner::Prometheus => continue,
            Owner::Unknown => vec!["(no service has this prefix)"],
            Owner::Job(job) => match scraped.get(job) {
                None => {
                    verdict.unchecked.entry(job).or_default().push(name.clone());
                    continue;
                }
                Some(exp) if exp.offers(name) => continue,
                Some(_) => vec![job],
            },
            Owner::Every => scraped
                .iter()
                .filter(|(_, exp)| !exp.offers(name))
                .map(|(job, _)| *job)
                .collect(),
            Owner::Any if scraped.values().any(|exp| exp.offers(name)) => continue,
            Owner::Any => vec!["any service"],
        };
        if !lacking.is_empty() {
            verdict.missing.push(format!(
                "{name} (used by {used}) not served by {}",
                lacking.join(", ")
            ));
        }
    }
    verdict
}

#[test]
fn every_referenced_name_belongs_to_a_service() {
    let (dashboard, rules) = load_docs().expect("docs files");
    let refs = referenced_metrics(&dashboard, &rules);
    let unknown: Vec<_> = refs.keys().filter(|n| owner(n) == Owner::Unknown).collect();
    assert!(
        unknown.is_empty(),
        "names no service would serve: {unknown:?}"
    );
    // The extractor sees every component the dashboard covers.
    for (prefix, _) in OWNERS {
        assert!(
            refs.keys().any(|n| n.starts_with(prefix)),
            "nothing of {prefix}* referenced"
        );
    }
    assert!(refs.contains_key("process_resident_memory_bytes"));
    assert!(refs.contains_key("process_open_fds"));
}

#[test]
fn judge_finds_missing_names_and_accepts_declared_families() {
    let refs: BTreeMap<String, BTreeSet<String>> = [
        "venus_node_head_height",
        "venus_auth_token_verify_total",
        "venus_messager_messages",
        "process_open_fds",
        "rpc_requests_total",
        "up",
        "venus_nodes_head",
    ]
    .iter()
    .map(|n| (n.to_string(), BTreeSet::from(["panel \"p\"".to_string()])))
    .collect();
    let scraped = BTreeMap::from([
        (
            "venus",
            Exposition::parse(
                "# TYPE venus_node_head_height gauge\nvenus_node_head_height 3\nprocess_open_fds 9\n",
            ),
        ),
        (
            "venus-auth",
            // Registered, never observed: only the # TYPE line.
            Exposition::parse(
                "# TYPE venus_auth_token_verify counter\n# TYPE rpc_requests counter\n",
            ),
        ),
    ]);
    let verdict = judge(&refs, &scraped);
    assert_eq!(
        verdict.missing,
        [
            "process_open_fds (used by panel \"p\") not served by venus-auth",
            "venus_nodes_head (used by panel \"p\") not served by (no service has this prefix)",
        ]
    );
    assert_eq!(
        verdict.unchecked,
        BTreeMap::from([(
            "venus-messager",
            vec!["venus_messager_messages".to_string()]
        )])
    );
}

/// The port of a `/ip4/127.0.0.1/tcp/<port>` multiaddr.
fn multiaddr_port(maddr: &str) -> &str {
    maddr.rsplit('/').next().unwrap_or_default()
}

/// venus-messager (the stack's seed flags) and venus-miner on free ports next to the stack's
/// processes, one message pushed through the messager; their `/metrics` URLs.
async fn start_messager_and_miner(stack: &Stack) -> (String, String) {
    let dir = stack.path();
    let messager = stack
        .start_messager("venus-messager", "", &[])
        .await
        .expect("venus-messager");
    let client = Client::builder(&messager.url())
        .token(Some(stack.admin_token.clone()))
        .connect()
        .await
        .expect("messager client");
    let message = venus_types::Message {
        version: 0,
        to: stack.senders[1],
        from: stack.senders[0],
        nonce: 0,
        value: TokenAmount::from_atto(1),
        gas_limit: 0,
        gas_fee_cap: TokenAmount::zero(),
        gas_premium: TokenAmount::zero(),
        method: 0,
        params: Base64Bytes::default(),
    };
    client
        .call(messager_api::PUSH_MESSAGE, (message, None))
        .await
        .expect("Message.PushMessage");
    let miner_port = free_port().expect("port");
    let miner_repo = dir.join("miner").display().to_string();
    run(Command::new(stack.bin_dir.join("venus-miner")).args([
        "--repo",
        &miner_repo,
        "init",
        "--nettype",
        "2k",
        "--auth-api",
        &stack.auth_url,
        "--token",
        &stack.admin_token,
        "--gateway-api",
        &stack.gateway_url,
        "--api",
        &stack.node_url,
        "--listen",
        &format!("127.0.0.1:{miner_port}"),
    ]))
    .expect("venus-miner init");
    stack
        .spawn(
            "venus-miner",
            Spec {
                program: stack.bin_dir.join("venus-miner"),
                args: ["--repo", &miner_repo, "run"].map(String::from).to_vec(),
                env: Vec::new(),
                log: dir.join("miner.log"),
            },
        )
        .expect("spawn venus-miner");
    let miner = format!("http://127.0.0.1:{miner_port}");
    if let Err(e) = wait_http(&format!("{miner}/livez"), Duration::from_secs(60)).await {
        panic!("venus-miner: {e:#}\n{}", stack.log("venus-miner"));
    }
    (
        format!("http://127.0.0.1:{}/metrics", messager.port),
        format!("{miner}/metrics"),
    )
}

async fn scrape(http: &reqwest::Client, url: &str) -> String {
    http.get(url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| panic!("scrape {url}: {e}"))
        .text()
        .await
        .expect("body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_referenced_metric_is_served_by_its_running_service() {
    let (dashboard, rules) = load_docs().expect("docs files");
    let refs = referenced_metrics(&dashboard, &rules);
    // venus-miner mines: the stack's own block producer stays off.
    let stack = Stack::start(StackOptions {
        produce_blocks: false,
        extra_binaries: vec![
            ("venus-messager", "venus-messager"),
            ("venus-miner", "venus-miner"),
        ],
        ..StackOptions::default()
    })
    .await
    .expect("the chain service");
    let (messager, miner) = start_messager_and_miner(&stack).await;
    let http = venus_rpc::tls::http_client_builder()
        .build()
        .expect("http client");
    eventually("venus-miner mined a block", Duration::from_secs(90), || {
        let http = http.clone();
        let miner = miner.clone();
        async move {
            scrape(&http, &miner)
                .await
                .contains("venus_miner_blocks_mined_total{")
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", stack.log("venus-miner")));
    eventually(
        "the message reached the messager's gauges",
        Duration::from_secs(60),
        || {
            let http = http.clone();
            let messager = messager.clone();
            async move {
                scrape(&http, &messager)
                    .await
                    .contains("venus_messager_messages{")
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", stack.log("venus-messager")));

    let targets = [
        ("venus-auth", format!("{}/metrics", stack.auth_url)),
        (
            "venus-gateway",
            format!(
                "http://127.0.0.1:{}/metrics",
                multiaddr_port(&stack.gateway_url)
            ),
        ),
        (
            "venus",
            format!("http://127.0.0.1:{}/metrics", stack.node_port),
        ),
        ("venus-messager", messager),
        ("venus-miner", miner),
    ];
    let mut scraped = BTreeMap::new();
    for (job, url) in &targets {
        scraped.insert(*job, Exposition::parse(&scrape(&http, url).await));
    }
    let verdict = judge(&refs, &scraped);
    assert!(verdict.unchecked.is_empty(), "{:?}", verdict.unchecked);
    assert!(
        verdict.missing.is_empty(),
        "the dashboard or the rules select metrics the services do not serve:\n  {}",
        verdict.missing.join("\n  ")
    );
}
