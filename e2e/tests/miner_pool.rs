//! venus-miner against real venus-auth, venus-gateway, venus node, venus-wallet and
//! venus-prover processes on a 2k devnet (e2e/src/stack.rs): the seed's commands in order,
//! blocks on chain through the gateway, `address stop|start`, a wallet outage shown in
//! `address state` and recovered from, the wallet's refusal of a second header for one
//! height, bad input (malformed and unknown miners, a wrong repo, a wrong permission); several
//! miners of different power winning in proportion, `winner count` and `ListBlocks` against
//! the chain, one miner stopped while the others mine, and a prover outage confined to its miner.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use venus_api::full_node as node_api;
use venus_api::gateway as gw_api;
use venus_api::miner as miner_api;
use venus_e2e::command::{run, run_expecting_failure};
use venus_e2e::fixture::free_port;
use venus_e2e::stack::{Spec, Stack, StackOptions, eventually, wait_http};
use venus_rpc::Client;
use venus_types::{Address, MsgMeta, MsgType, TipSet};

/// A venus-miner of the stack: `init` with the seed's flags, then `run`.
struct MinerProc {
    name: String,
    repo: PathBuf,
    port: u16,
    bin: PathBuf,
}

impl MinerProc {
    fn cli(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg(format!("--repo={}", self.repo.display()));
        c
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = run(self.cli().args(args)).unwrap();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}:\n{out}"))
    }

    async fn client(&self, token: &str) -> Client {
        Client::builder(&format!("http://127.0.0.1:{}/rpc/v0", self.port))
            .token(Some(token.to_owned()))
            .connect()
            .await
            .unwrap()
    }

    async fn metrics(&self) -> String {
        let http = venus_rpc::tls::http_client_builder().build().unwrap();
        http.get(format!("http://127.0.0.1:{}/metrics", self.port))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

fn init_args<'a>(stack: &'a Stack, nettype: &'a str, listen: &'a str) -> Vec<&'a str> {
    vec![
        "init",
        "--nettype",
        nettype,
        "--auth-api",
        &stack.auth_url,
        "--token",
        &stack.admin_token,
        "--gateway-api",
        &stack.gateway_url,
        "--api",
        &stack.node_url,
        "--listen",
        listen,
    ]
}

/// `venus-miner init` as the seed writes it, then `run` under `name`.
async fn start_miner(stack: &Stack, name: &str, extra_config: &str) -> MinerProc {
    start_miner_with(stack, name, extra_config, &[]).await
}

/// [`start_miner`] with extra `run` flags.
async fn start_miner_with(
    stack: &Stack,
    name: &str,
    extra_config: &str,
    run_args: &[String],
) -> MinerProc {
    let repo = stack.path().join(name);
    let port = free_port().unwrap();
    let listen = format!("127.0.0.1:{port}");
    let bin = stack.bin_dir.join("venus-miner");
    let m = MinerProc {
        name: name.to_owned(),
        repo: repo.clone(),
        port,
        bin: bin.clone(),
    };
    run(m.cli().args(init_args(stack, "2k", &listen))).unwrap();
    if !extra_config.is_empty() {
        let cfg = repo.join("config.toml");
        let text = std::fs::read_to_string(&cfg).unwrap();
        std::fs::write(&cfg, format!("{text}\n{extra_config}\n")).unwrap();
    }
    stack
        .spawn(
            name,
            Spec {
                program: bin,
                args: [format!("--repo={}", repo.display()), "run".into()]
                    .into_iter()
                    .chain(run_args.iter().cloned())
                    .collect(),
                env: Vec::new(),
                log: stack.path().join(format!("{name}.log")),
            },
        )
        .unwrap();
    if let Err(e) = wait_http(
        &format!("http://127.0.0.1:{port}/readyz"),
        Duration::from_secs(60),
    )
    .await
    {
        panic!("{e}; log:\n{}", stack.log(name));
    }
    m
}

/// (miner, height) of every block from the head down.
async fn chain_blocks(c: &Client) -> Vec<(Address, i64)> {
    let mut ts: TipSet = c.call(node_api::CHAIN_HEAD, ()).await.unwrap();
    let mut out = Vec::new();
    while ts.height() > 0 {
        out.extend(ts.blocks().iter().map(|b| (b.miner, b.height)));
        ts = c
            .call(node_api::CHAIN_GET_TIP_SET, (ts.parents(),))
            .await
            .unwrap();
    }
    out
}

async fn height(c: &Client) -> i64 {
    c.call(node_api::CHAIN_HEAD, ())
        .await
        .map(|h| h.height())
        .unwrap_or(-1)
}

fn state_of(m: &MinerProc, miner: &str) -> serde_json::Value {
    let state = m.json(&["address", "state", miner]);
    let arr = state.as_array().unwrap_or_else(|| panic!("{state}"));
    assert_eq!(arr.len(), 1, "{state}");
    arr[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_commands_mine_through_the_gateway() {
    let stack = Stack::start(StackOptions {
        produce_blocks: false,
        extra_binaries: vec![("venus-miner", "venus-miner")],
        ..Default::default()
    })
    .await
    .unwrap();
    let node = stack.node_client().await.unwrap();
    // As the miner renders it on a test network (this process renders `f…`).
    let miner_id = venus_types::Network::Testnet.format_address(&stack.miner);

    // A wrong --nettype is refused, naming both networks; nothing is left behind.
    let bin = stack.bin_dir.join("venus-miner");
    let wrong = stack.path().join("wrong-net");
    let err = run_expecting_failure(
        Command::new(&bin)
            .arg(format!("--repo={}", wrong.display()))
            .args(init_args(&stack, "calibnet", "127.0.0.1:1")),
    )
    .unwrap();
    assert!(
        err.contains("calibnet") && err.contains("localnet"),
        "{err}"
    );
    assert!(!wrong.join("config.toml").exists());

    let m = start_miner(&stack, "miner", "").await;
    // init twice is refused.
    let err = run_expecting_failure(m.cli().args(init_args(&stack, "2k", "127.0.0.1:1"))).unwrap();
    assert!(err.contains("already initialised"), "{err}");

    // address state: the user's miner, mining, as the seed shows it.
    let s = state_of(&m, &miner_id);
    assert_eq!(s["IsMining"], true, "{s}");
    let list = m.json(&["address", "list"]);
    assert_eq!(list[0]["Name"], stack.user.as_str(), "{list}");
    assert_eq!(list[0]["OpenMining"], true, "{list}");

    // The chain rises with the pool's blocks.
    let start = height(&node).await;
    eventually("the chain to rise by 3", Duration::from_secs(90), || {
        let node = &node;
        async move { height(node).await >= start + 3 }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}; miner log:\n{}", stack.log(&m.name)));
    let blocks = chain_blocks(&node).await;
    assert!(blocks.iter().all(|(a, _)| *a == stack.miner), "{blocks:?}");
    let metrics = m.metrics().await;
    assert!(
        metrics.contains(&format!(
            "venus_miner_blocks_mined_total{{miner=\"{miner_id}\"}}"
        )),
        "{metrics}"
    );
    assert!(metrics.contains("venus_miner_lease_holder"), "{metrics}");

    // Bad input: a malformed address, an unknown miner, a repo with no daemon.
    let err = run_expecting_failure(m.cli().args(["address", "state", "bogus"])).unwrap();
    assert!(err.contains("invalid miner address \"bogus\""), "{err}");
    let err = run_expecting_failure(m.cli().args(["address", "start", "t09999"])).unwrap();
    assert!(err.contains("not a miner of this pool"), "{err}");
    let err = run_expecting_failure(
        Command::new(&bin)
            .arg(format!("--repo={}", stack.path().join("nowhere").display()))
            .args(["address", "list"]),
    )
    .unwrap();
    assert!(err.contains("venus-miner run"), "{err}");
    let err = run_expecting_failure(m.cli().args([
        "winner",
        "count",
        "--epoch-start",
        "5",
        "--epoch-end",
        "2",
        &miner_id,
    ]))
    .unwrap();
    assert!(err.contains("after --epoch-end"), "{err}");

    // Permissions: a read token cannot stop mining; another user sees none of our miners.
    let read = stack
        .auth_cli(&["token", "gen", "--perm", "read", &stack.user])
        .unwrap();
    let c = m.client(&read).await;
    let err = c
        .call(miner_api::STOP, (vec![stack.miner],))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing permission") && err.contains("admin"),
        "{err}"
    );
    assert_eq!(c.call(miner_api::LIST_ADDRESS, ()).await.unwrap().len(), 1);
    stack.auth_cli(&["user", "add", "--name=stranger"]).unwrap();
    let stranger = stack
        .auth_cli(&["token", "gen", "--perm", "read", "stranger"])
        .unwrap();
    let c = m.client(&stranger).await;
    assert!(
        c.call(miner_api::LIST_ADDRESS, ())
            .await
            .unwrap()
            .is_empty()
    );
    let err = c
        .call(miner_api::STATES_FOR_MINING, (vec![stack.miner],))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not belong to user stranger"), "{err}");

    // address stop: no block of ours any more (ours is the only miner: the chain stops).
    run(m.cli().args(["address", "stop", &miner_id])).unwrap();
    assert_eq!(state_of(&m, &miner_id)["IsMining"], false);
    tokio::time::sleep(stack.block_delay * 2).await;
    let stopped_at = height(&node).await;
    tokio::time::sleep(stack.block_delay * 3).await;
    assert_eq!(height(&node).await, stopped_at, "no block while stopped");
    run(m.cli().args(["address", "start", &miner_id])).unwrap();
    eventually("mining to resume", Duration::from_secs(60), || {
        let node = &node;
        async move { height(node).await > stopped_at }
    })
    .await
    .unwrap();

    // The wallet goes away: the error is in address state; mining resumes when it returns.
    stack.kill("wallet").unwrap();
    eventually(
        "a signing error in address state",
        Duration::from_secs(60),
        || {
            let s = state_of(&m, &miner_id);
            async move {
                s["Err"].as_array().is_some_and(|e| {
                    e.iter().any(|x| {
                        x.as_str()
                            .is_some_and(|x| x.contains("signing the election proof"))
                    })
                })
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(state_of(&m, &miner_id)["IsMining"], true);
    let outage = height(&node).await;
    stack.restart("wallet").unwrap();
    eventually(
        "mining after the wallet is back",
        Duration::from_secs(90),
        || {
            let node = &node;
            async move { height(node).await > outage + 1 }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}; miner log:\n{}", stack.log(&m.name)));
    eventually(
        "address state clear of errors",
        Duration::from_secs(30),
        || {
            let s = state_of(&m, &miner_id);
            async move { s["Err"].as_array().is_some_and(Vec::is_empty) }
        },
    )
    .await
    .unwrap();

    // No (miner, epoch) twice on chain.
    let blocks = chain_blocks(&node).await;
    let mut seen = std::collections::BTreeSet::new();
    for b in &blocks {
        assert!(seen.insert(*b), "two blocks of {} at {}", b.0, b.1);
    }

    // The wallet refuses a second, different header for a height it signed; the same one is fine.
    let head: TipSet = node.call(node_api::CHAIN_HEAD, ()).await.unwrap();
    let mut header = head.blocks()[0].clone();
    header.block_sig = None;
    let gw = Client::builder(&stack.gateway_url)
        .version("v2")
        .token(Some(stack.admin_token.clone()))
        .connect()
        .await
        .unwrap();
    let worker = stack.worker.address();
    let sign = |bytes: Vec<u8>| {
        gw.call(
            gw_api::WALLET_SIGN,
            (
                worker,
                vec![stack.user.clone()],
                bytes.into(),
                MsgMeta::new(MsgType::Block),
            ),
        )
    };
    sign(header.to_cbor()).await.expect("the same header again");
    let mut other = header.clone();
    other.timestamp += 1;
    let err = sign(other.to_cbor()).await.unwrap_err().to_string();
    assert!(err.contains("refusing to sign a second block"), "{err}");

    // venus-miner stop ends the daemon.
    run(m.cli().arg("stop")).unwrap();
    eventually("the miner to exit", Duration::from_secs(20), || {
        let r = stack.is_running(&m.name);
        async move { !r }
    })
    .await
    .unwrap();
    let _ = Path::new(&m.repo);
}

fn mysql_server() -> Option<String> {
    match std::env::var("VENUS_TEST_MYSQL_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var_os("CI").is_some() => {
            panic!("VENUS_TEST_MYSQL_URL is not set and CI is: the MariaDB tests cannot be skipped")
        }
        _ => {
            eprintln!("note: VENUS_TEST_MYSQL_URL is not set; skipping a MariaDB test");
            None
        }
    }
}

async fn is_holder(m: &MinerProc) -> bool {
    // The sample line, not the HELP text ("… holder 1 while this instance …").
    m.metrics()
        .await
        .lines()
        .any(|l| l.trim() == "venus_miner_lease_holder 1")
}

/// Two venus-miner instances on one MariaDB (`--db-type=mysql --mysql-dsn`, as the operator
/// renders them): one holds the lease and mines; when it is killed the other takes over, the
/// chain keeps rising, and no (miner, epoch) ever has two blocks on chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_over_and_nothing_is_mined_twice() {
    use sqlx::Connection;
    let Some(server) = mysql_server() else { return };
    let db = format!("venus_miner_e2e_{}", std::process::id());
    let mut conn = sqlx::MySqlConnection::connect(&server).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE IF NOT EXISTS {db}"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    let dsn = format!("{}/{db}", server.trim_end_matches('/'));
    let stack = Stack::start(StackOptions {
        produce_blocks: false,
        extra_binaries: vec![("venus-miner", "venus-miner")],
        ..Default::default()
    })
    .await
    .unwrap();
    let node = stack.node_client().await.unwrap();
    let flags = vec!["--db-type=mysql".to_owned(), format!("--mysql-dsn={dsn}")];
    let a = start_miner_with(&stack, "miner-a", "", &flags).await;
    let b = start_miner_with(&stack, "miner-b", "", &flags).await;

    let start = height(&node).await;
    eventually("the chain to rise by 3", Duration::from_secs(90), || {
        let node = &node;
        async move { height(node).await >= start + 3 }
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "{e}; logs:\n{}\n{}",
            stack.log("miner-a"),
            stack.log("miner-b")
        )
    });
    let (ha, hb) = (is_holder(&a).await, is_holder(&b).await);
    assert!(ha ^ hb, "exactly one lease holder (a: {ha}, b: {hb})");
    let (holder, standby) = if ha { (&a, &b) } else { (&b, &a) };

    stack.kill(&holder.name).unwrap();
    let killed_at = height(&node).await;
    eventually(
        "the standby to take the lease",
        Duration::from_secs(20),
        || async { is_holder(standby).await },
    )
    .await
    .unwrap();
    eventually("mining to continue", Duration::from_secs(60), || {
        let node = &node;
        async move { height(node).await >= killed_at + 3 }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}; standby log:\n{}", stack.log(&standby.name)));

    let blocks = chain_blocks(&node).await;
    let mut seen = std::collections::BTreeSet::new();
    for b in &blocks {
        assert!(seen.insert(*b), "two blocks of {} at {}", b.0, b.1);
    }
    let rows: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT epoch, miner FROM {db}.miner_blocks"
    )))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(rows.len() >= 3, "claims recorded: {rows:?}");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {db}")))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// A block on chain: miner, height, win count, CID.
#[derive(Debug, Clone)]
struct ChainBlock {
    miner: Address,
    height: i64,
    wins: i64,
    cid: String,
    fork_signaling: u64,
}

/// Every block above `floor`, from the head down.
async fn chain_blocks_above(c: &Client, floor: i64) -> Vec<ChainBlock> {
    let mut ts: TipSet = c.call(node_api::CHAIN_HEAD, ()).await.unwrap();
    let mut out = Vec::new();
    while ts.height() > floor {
        out.extend(ts.blocks().iter().map(|b| ChainBlock {
            miner: b.miner,
            height: b.height,
            wins: b.election_proof.as_ref().map_or(0, |e| e.win_count),
            cid: b.cid().to_string(),
            fork_signaling: b.fork_signaling,
        }));
        ts = c
            .call(node_api::CHAIN_GET_TIP_SET, (ts.parents(),))
            .await
            .unwrap();
    }
    out
}

fn testnet(a: &Address) -> String {
    venus_types::Network::Testnet.format_address(a)
}

/// Three miners pre-sealed with 1, 2 and 5 sectors mined by one venus-miner: over ≥ 160
/// wins, each miner's share of the win count (a block's `ElectionProof.WinCount`, what the
/// rewards follow) is its share of power within 4 standard deviations; `winner count` and
/// `ListBlocks` agree with the chain; the mine recorder (`record query`) holds each block's
/// election; every header carries `ForkSignaling = 1`; `address stop` on one miner leaves the
/// others mining.
///
/// Why 4σ: given the total W, the wins are multinomial(W, p) (each miner's win count per
/// epoch is an independent Poisson(5·p) draw), so miner i's count has standard deviation
/// √(W·p·(1−p)); a 4σ band fails a correct miner with probability < 7·10⁻⁵ per miner, while a
/// miner that ignored power (equal shares) would sit ≥ 7σ away at W = 160.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miners_win_in_proportion_to_power_and_the_records_agree_with_the_chain() {
    const SECTORS: [u64; 3] = [1, 2, 5];
    const MIN_WINS: i64 = 160;
    let stack = Stack::start(StackOptions {
        produce_blocks: false,
        extra_binaries: vec![("venus-miner", "venus-miner")],
        miner_sectors: SECTORS.to_vec(),
        ..Default::default()
    })
    .await
    .unwrap();
    let node = stack.node_client().await.unwrap();
    let miners: Vec<Address> = stack.genesis_miners.iter().map(|(m, _)| *m).collect();
    let start = height(&node).await;
    let m = start_miner(&stack, "miner", "[Recorder]\nEnable = true").await;
    let states = m.json(&["address", "state"]);
    assert_eq!(states.as_array().map(Vec::len), Some(3), "{states}");

    // Mine until the chain holds at least MIN_WINS wins (≈ 32 epochs at 5 per epoch).
    let total_wins = |blocks: &[ChainBlock]| blocks.iter().map(|b| b.wins).sum::<i64>();
    eventually(
        "the pool to win 160 times",
        Duration::from_secs(420),
        || {
            let node = &node;
            async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                total_wins(&chain_blocks_above(node, start).await) >= MIN_WINS
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}; miner log:\n{}", stack.log("miner")));
    let head = height(&node).await;
    let blocks = chain_blocks_above(&node, start).await;
    let w = total_wins(&blocks) as f64;
    assert!(
        blocks.iter().all(|b| b.fork_signaling == 1),
        "ForkSignaling: {blocks:?}"
    );
    let total_power: u64 = SECTORS.iter().sum();
    println!(
        "epochs {}..={head}, {} blocks, {w} wins",
        start + 1,
        blocks.len()
    );
    for (miner, sectors) in miners.iter().zip(SECTORS) {
        let p = sectors as f64 / total_power as f64;
        let mine: Vec<&ChainBlock> = blocks.iter().filter(|b| b.miner == *miner).collect();
        let wins = mine.iter().map(|b| b.wins).sum::<i64>() as f64;
        let (expected, sd) = (w * p, (w * p * (1.0 - p)).sqrt());
        let z = (wins - expected) / sd;
        println!(
            "{}: power share {p:.3}, blocks {}, wins {wins} (share {:.3}), expected {expected:.1} ± {sd:.1}, z = {z:+.2}",
            testnet(miner),
            mine.len(),
            wins / w
        );
        assert!(
            z.abs() <= 4.0,
            "{}: {wins} wins of {w}, expected {expected:.1} ± {sd:.1} (z = {z:.2})",
            testnet(miner)
        );
    }

    // winner count re-runs the elections of rounds start+1 ..= head: every block on chain is a
    // win there with the same win count, and a win without a block only where the miner
    // counted a failed or timed-out election.
    let metrics = m.metrics().await;
    let failures = |miner: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| {
                (l.starts_with("venus_miner_election_errors_total")
                    || l.starts_with("venus_miner_election_timeouts_total"))
                    && l.contains(&format!("miner=\"{miner}\""))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .fold(0.0, |a, b| a + b)
    };
    let admin = m.client(&stack.admin_token).await;
    for miner in &miners {
        let id = testnet(miner);
        let counted = m.json(&[
            "winner",
            "count",
            "--epoch-start",
            &start.to_string(),
            "--epoch-end",
            &(head - 1).to_string(),
            &id,
        ]);
        let counted: Vec<venus_api::miner::CountWinners> =
            serde_json::from_value(counted.clone()).unwrap_or_else(|e| panic!("{e}: {counted}"));
        assert_eq!(counted.len(), 1);
        let counted = &counted[0];
        assert!(counted.msg.is_empty(), "winner count: {}", counted.msg);
        let won: std::collections::BTreeMap<i64, i64> = counted
            .win_epoch_list
            .iter()
            .map(|w| (w.epoch, w.win_count))
            .collect();
        let on_chain: std::collections::BTreeMap<i64, (i64, String)> = blocks
            .iter()
            .filter(|b| b.miner == *miner && b.height <= head)
            .map(|b| (b.height, (b.wins, b.cid.clone())))
            .collect();
        for (h, (wins, _)) in &on_chain {
            assert_eq!(
                won.get(h),
                Some(wins),
                "{id}: block at {h} with win count {wins}, winner count says {:?}",
                won.get(h)
            );
        }
        let missing = won.keys().filter(|h| !on_chain.contains_key(h)).count();
        let failed = failures(&id);
        println!(
            "{id}: winner count {} rounds / {} wins, on chain {} blocks, failed elections {failed}",
            won.len(),
            counted.total_win_count,
            on_chain.len()
        );
        assert!(
            missing as f64 <= failed,
            "{id}: {missing} wins with no block but {failed} failed elections; won {won:?}, chain {on_chain:?}"
        );

        // ListBlocks: the miner's successful records are exactly its blocks on chain.
        let listed = admin
            .call(
                miner_api::LIST_BLOCKS,
                (venus_api::miner::BlocksQueryParams {
                    miners: vec![*miner],
                    limit: 0,
                    offset: 0,
                },),
            )
            .await
            .unwrap();
        let listed: std::collections::BTreeMap<i64, String> = listed
            .into_iter()
            .filter(|b| b.mine_state == 1 && b.epoch <= head)
            .map(|b| (b.epoch, b.cid))
            .collect();
        let chain_cids: std::collections::BTreeMap<i64, String> = on_chain
            .iter()
            .map(|(h, (_, cid))| (*h, cid.clone()))
            .collect();
        assert_eq!(listed, chain_cids, "{id}: ListBlocks vs the chain");

        // The mine recorder: the record of each block's epoch names the block, its win count
        // and the miner's power at the lookback (its sectors of 2 KiB out of all).
        let (h, (wins, cid)) = on_chain.iter().next_back().expect("a block of each miner");
        let rec = m.json(&["record", "query", &id, &h.to_string()]);
        let rec = &rec[0];
        assert_eq!(rec["miner"], id.as_str(), "{rec}");
        assert_eq!(rec["epoch"], h.to_string(), "{rec}");
        assert_eq!(rec["winCount"], wins.to_string(), "{rec}");
        assert_eq!(rec["info"], format!("block mined: {cid}"), "{rec}");
        let sectors = SECTORS[miners.iter().position(|x| x == miner).unwrap()];
        assert_eq!(rec["minerPower"], (sectors * 2048).to_string(), "{rec}");
        assert_eq!(
            rec["networkPower"],
            (total_power * 2048).to_string(),
            "{rec}"
        );
        for field in [
            "getBaseInfo",
            "computeTicket",
            "computeElectionProof",
            "computePostProof",
            "createBlock",
            "selectMessage",
            "start",
            "end",
        ] {
            assert!(rec.get(field).is_some(), "{field} missing: {rec}");
        }
    }
    // A range: one record per epoch that has one, at most MaxRecordPerQuery at once.
    let range = m.json(&[
        "record",
        "query",
        "--limit",
        "10",
        &testnet(&miners[0]),
        &(start + 1).to_string(),
    ]);
    assert!(
        range
            .as_array()
            .is_some_and(|r| !r.is_empty() && r.len() <= 10),
        "{range}"
    );
    let err = run_expecting_failure(m.cli().args([
        "record",
        "query",
        "--limit",
        "289",
        &testnet(&miners[0]),
        "1",
    ]))
    .unwrap();
    assert!(err.contains("MaxRecordPerQuery"), "{err}");

    // address stop on the biggest miner: the others keep mining, it mines nothing until
    // address start.
    let big = testnet(&miners[2]);
    run(m.cli().args(["address", "stop", &big])).unwrap();
    assert_eq!(state_of(&m, &big)["IsMining"], false);
    tokio::time::sleep(stack.block_delay * 2).await;
    let stopped_at = height(&node).await;
    eventually(
        "five epochs without the stopped miner",
        Duration::from_secs(120),
        || {
            let node = &node;
            async move { height(node).await >= stopped_at + 5 }
        },
    )
    .await
    .unwrap();
    let after = chain_blocks_above(&node, stopped_at).await;
    assert!(
        after.iter().all(|b| b.miner != miners[2]),
        "a block of the stopped miner: {after:?}"
    );
    assert!(!after.is_empty(), "the other miners kept mining");
    run(m.cli().args(["address", "start", &big])).unwrap();
    let restarted_at = height(&node).await;
    eventually(
        "the restarted miner to mine again",
        Duration::from_secs(90),
        || {
            let node = &node;
            let big = miners[2];
            async move {
                chain_blocks_above(node, restarted_at)
                    .await
                    .iter()
                    .any(|b| b.miner == big)
            }
        },
    )
    .await
    .unwrap();
}

/// Two miners, each proven by its own venus-prover: when one prover goes away, its miner's
/// WinningPoSt fails — shown in `address state`, the metrics and the log — while the other
/// keeps mining; when the prover returns, its miner mines again and its errors clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prover_outage_stops_only_its_miners() {
    let stack = Stack::start(StackOptions {
        produce_blocks: false,
        extra_binaries: vec![("venus-miner", "venus-miner")],
        miner_sectors: vec![2, 2],
        ..Default::default()
    })
    .await
    .unwrap();
    let node = stack.node_client().await.unwrap();
    let (a, b) = (stack.genesis_miners[0].0, stack.genesis_miners[1].0);
    let (a_id, b_id) = (testnet(&a), testnet(&b));

    // One prover per miner, each with only its miner's pre-seal.
    stack.kill("prover").unwrap();
    for (name, id) in [("prover-a", &a_id), ("prover-b", &b_id)] {
        let store = stack.path().join(name);
        std::fs::create_dir_all(&store).unwrap();
        let file = format!("pre-seal-{id}.json");
        std::fs::copy(stack.path().join("sectors").join(&file), store.join(&file)).unwrap();
        stack
            .spawn(
                name,
                Spec {
                    program: stack.bin_dir.join("venus-prover"),
                    args: vec![
                        "run".into(),
                        format!("--gateway-url={}", stack.gateway_url),
                        format!("--gateway-token={}", stack.user_token),
                        format!("--sector-store={}", store.display()),
                    ],
                    env: Vec::new(),
                    log: stack.path().join(format!("{name}.log")),
                },
            )
            .unwrap();
    }
    let m = start_miner(&stack, "miner", "").await;
    let mined_by = |who: Address, above: i64| {
        let node = &node;
        async move {
            chain_blocks_above(node, above)
                .await
                .iter()
                .any(|x| x.miner == who)
        }
    };
    let start = height(&node).await;
    eventually("both miners to mine", Duration::from_secs(120), || async {
        mined_by(a, start).await && mined_by(b, start).await
    })
    .await
    .unwrap_or_else(|e| panic!("{e}; miner log:\n{}", stack.log("miner")));

    // b's prover goes away.
    stack.kill("prover-b").unwrap();
    eventually(
        "the WinningPoSt error of b in address state",
        Duration::from_secs(90),
        || {
            let s = state_of(&m, &b_id);
            async move {
                s["Err"].as_array().is_some_and(|e| {
                    e.iter()
                        .any(|x| x.as_str().is_some_and(|x| x.contains("WinningPoSt")))
                })
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}; miner log:\n{}", stack.log("miner")));
    let outage = height(&node).await;
    let a_state = state_of(&m, &a_id);
    assert_eq!(a_state["IsMining"], true, "{a_state}");
    assert_eq!(state_of(&m, &b_id)["IsMining"], true);
    assert!(
        !a_state["Err"].to_string().contains("WinningPoSt"),
        "a's prover is up: {a_state}"
    );
    let metrics = m.metrics().await;
    assert!(
        metrics.contains(&format!(
            "venus_miner_election_errors_total{{miner=\"{b_id}\",stage=\"proof\"}}"
        )),
        "{metrics}"
    );
    assert!(
        !metrics.contains(&format!(
            "venus_miner_election_errors_total{{miner=\"{a_id}\",stage=\"proof\"}}"
        )),
        "{metrics}"
    );
    let log = stack.log("miner");
    assert!(
        log.lines()
            .any(|l| l.contains("mining failed") && l.contains(&b_id) && l.contains("WinningPoSt")),
        "{log}"
    );
    // a keeps mining; b mines nothing while its prover is away.
    eventually("a to keep mining", Duration::from_secs(90), || async {
        height(&node).await >= outage + 4 && mined_by(a, outage).await
    })
    .await
    .unwrap();
    let during = chain_blocks_above(&node, outage).await;
    assert!(
        during.iter().all(|x| x.miner != b),
        "b mined without a prover: {during:?}"
    );

    // The prover returns: b mines again and its errors clear.
    stack.restart("prover-b").unwrap();
    let back = height(&node).await;
    eventually("b to mine again", Duration::from_secs(120), || async {
        mined_by(b, back).await
    })
    .await
    .unwrap_or_else(|e| panic!("{e}; miner log:\n{}", stack.log("miner")));
    eventually("b's errors to clear", Duration::from_secs(60), || {
        let s = state_of(&m, &b_id);
        async move { s["Err"].as_array().is_some_and(Vec::is_empty) }
    })
    .await
    .unwrap();
}

/// The main node and a `[[SubmitNodes]]` entry on one genesis (the miner submits every block
/// to both, and the nodes also sync over libp2p): when the main node is killed the miner takes
/// its base from the other by itself — no config edit, no restart — and the chain keeps
/// rising there without any (miner, epoch) twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mining_moves_to_a_submit_node_when_the_main_node_dies() {
    let stack = Stack::start(StackOptions {
        produce_blocks: false,
        extra_binaries: vec![("venus-miner", "venus-miner")],
        extra_nodes: 1,
        ..Default::default()
    })
    .await
    .unwrap();
    let node = stack.node_client().await.unwrap();
    let other_port = stack.extra_node_urls[0].rsplit('/').next().unwrap();
    let other = Client::builder(&format!("http://127.0.0.1:{other_port}/rpc/v1"))
        .token(Some(stack.admin_token.clone()))
        .connect()
        .await
        .unwrap();
    let m = start_miner(
        &stack,
        "miner",
        &format!(
            "[[SubmitNodes]]\nAddr = \"{}\"\nToken = \"{}\"",
            stack.extra_node_urls[0], stack.admin_token
        ),
    )
    .await;
    let start = height(&node).await;
    eventually("both nodes to rise by 3", Duration::from_secs(90), || {
        let (node, other) = (&node, &other);
        async move { height(node).await >= start + 3 && height(other).await >= start + 3 }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}; miner log:\n{}", stack.log(&m.name)));

    stack.kill("node").unwrap();
    let killed_at = height(&other).await;
    eventually(
        "the submit node's chain to rise by 3 without the main node",
        Duration::from_secs(90),
        || {
            let other = &other;
            async move { height(other).await >= killed_at + 3 }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}; miner log:\n{}", stack.log(&m.name)));
    let s = state_of(&m, &testnet(&stack.miner));
    assert_eq!(s["IsMining"], true, "{s}");
    let blocks = chain_blocks(&other).await;
    let mut seen = std::collections::BTreeSet::new();
    for b in &blocks {
        assert!(seen.insert(*b), "two blocks of {} at {}", b.0, b.1);
    }
}
