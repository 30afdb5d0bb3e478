//! The user's part of a 2k devnet: a genesis CAR made the way the seed guide makes one
//! (pre-seal, template, `venus daemon --make-genesis`), and the binaries the pods run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// `(package, binary)` of every image the operator renders.
pub const SERVICE_BINARIES: [(&str, &str); 5] = [
    ("venus-auth", "venus-auth"),
    ("venus-gateway", "venus-gateway"),
    ("venus-node", "venus"),
    ("venus-messager", "venus-messager"),
    ("venus-miner", "venus-miner"),
];

/// The service binaries, built when needed (see [`crate::binaries::workspace_binaries`]).
pub fn service_binaries() -> anyhow::Result<PathBuf> {
    crate::binaries::workspace_binaries(&SERVICE_BINARIES)
}

/// The service binaries and the devnet's cluster side (`spec.network.devnet`'s wallet and
/// prover pods; its genesis Job runs `venus`).
pub fn devnet_binaries() -> anyhow::Result<PathBuf> {
    let mut all = SERVICE_BINARIES.to_vec();
    all.extend([
        ("venus-wallet", "venus-wallet"),
        ("venus-prover", "venus-prover"),
    ]);
    crate::binaries::workspace_binaries(&all)
}

/// Makes a 2k genesis CAR in `dir` with `venus` from `bin_dir`. `start_in` moves the genesis
/// timestamp into the future: the node's `/readyz` ("synced") holds while the clock has not
/// passed genesis by more than a few epochs, and no block is produced in these tests (no miner
/// is registered with a wallet), so a genesis of "now" would make the node unready within
/// seconds.
pub fn devnet_genesis(bin_dir: &Path, dir: &Path, start_in: Duration) -> anyhow::Result<Vec<u8>> {
    std::fs::create_dir_all(dir)?;
    let venus = bin_dir.join("venus");
    let run = |args: &[&str]| -> anyhow::Result<()> {
        let out = Command::new(&venus)
            .args(args)
            .env("HOME", dir)
            .env_remove("VENUS_PATH")
            .env_remove("FIL_API")
            .output()
            .context("running venus")?;
        if !out.status.success() {
            bail!("venus {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    };
    let sectors = dir.join("sectors");
    let template = dir.join("localnet.json");
    let s = |p: &Path| p.display().to_string();
    run(&["seed", "pre-seal", "--sector-dir", &s(&sectors)])?;
    run(&["seed", "genesis", "new", &s(&template)])?;
    run(&[
        "seed",
        "genesis",
        "add-miner",
        &s(&template),
        &s(&sectors.join("pre-seal-t01000.json")),
    ])?;
    if !start_in.is_zero() {
        let mut t: serde_json::Value = serde_json::from_slice(&std::fs::read(&template)?)?;
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .saturating_add(start_in);
        t["Timestamp"] = serde_json::json!(at.as_secs());
        std::fs::write(&template, serde_json::to_vec_pretty(&t)?)?;
    }
    let car = dir.join("devgen.car");
    let port = crate::fixture::free_port()?;
    let log = dir.join("make-genesis.log");
    let mut child = Command::new(&venus)
        .args([
            "--repo",
            &s(&dir.join("scratch")),
            "daemon",
            "--network=2k",
            &format!("--make-genesis={}", s(&car)),
            &format!("--genesis-template={}", s(&template)),
            &format!("--api=/ip4/127.0.0.1/tcp/{port}"),
        ])
        .env("HOME", dir)
        .env_remove("VENUS_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .context("venus daemon --make-genesis")?;
    // The API is served only after the genesis is written.
    let deadline = Instant::now() + Duration::from_secs(120);
    let result = loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(anyhow::anyhow!(
                "venus --make-genesis exited ({status}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ));
        }
        if Instant::now() > deadline {
            break Err(anyhow::anyhow!("venus --make-genesis hung"));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    result?;
    std::fs::read(&car).context("genesis CAR written")
}
