//! `venus-messager-bench`: how many messages per second the messager's accept path can
//! persist — one committed row per PushMessage, as the API does it — on SQLite and, with
//! `--mysql-dsn` (Go DSN or mysql:// URL), on MySQL/MariaDB.
//!
//! ```sh
//! cargo run --release -p venus-messager --bin venus-messager-bench -- --messages 20000 --concurrency 32
//! cargo run --release -p venus-messager --bin venus-messager-bench -- --mysql-dsn "$VENUS_TEST_MYSQL_URL"venus_messager_bench
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures::StreamExt;
use venus_api::messager::{MessageState, SendSpec};
use venus_messager::config::DbTarget;
use venus_messager::store::{NewMessage, Store};
use venus_types::{Address, Base64Bytes, TokenAmount};

#[derive(Parser)]
struct Args {
    /// Messages to push.
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// Concurrent pushers (API callers).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Sending addresses the messages are spread over.
    #[arg(long, default_value_t = 8)]
    addresses: u64,
    /// Also (or only, with --no-sqlite) measure this MySQL/MariaDB database.
    #[arg(long)]
    mysql_dsn: Option<String>,
    #[arg(long)]
    no_sqlite: bool,
}

async fn measure(label: &str, store: Store, args: &Args) -> anyhow::Result<()> {
    let from: Vec<Address> = (0..args.addresses)
        .map(|i| Address::new_id(10_000 + i))
        .collect();
    for a in &from {
        store.ensure_address(a).await?;
    }
    let store = Arc::new(store);
    let started = Instant::now();
    let results: Vec<anyhow::Result<Duration>> = futures::stream::iter(0..args.messages)
        .map(|i| {
            let store = store.clone();
            let from = from[i % from.len()];
            async move {
                let t = Instant::now();
                let msg = venus_types::Message {
                    version: 0,
                    to: Address::new_id(1000),
                    from,
                    nonce: 0,
                    value: TokenAmount::from_atto(i as u64),
                    gas_limit: 0,
                    gas_fee_cap: TokenAmount::zero(),
                    gas_premium: TokenAmount::zero(),
                    method: 0,
                    params: Base64Bytes::default(),
                };
                store
                    .insert_message(&NewMessage {
                        id: uuid::Uuid::new_v4().to_string(),
                        message: msg,
                        spec: SendSpec::default(),
                        wallet_name: "bench".into(),
                        state: MessageState::UnFillMsg,
                    })
                    .await?;
                Ok(t.elapsed())
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut lat: Vec<Duration> = results.into_iter().collect::<anyhow::Result<_>>()?;
    lat.sort_unstable();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    println!(
        "{label}: {} messages, {} pushers: {:.0} msgs/s (p50 {:.2} ms, p99 {:.2} ms)",
        lat.len(),
        args.concurrency,
        lat.len() as f64 / elapsed.as_secs_f64(),
        p(0.5).as_secs_f64() * 1e3,
        p(0.99).as_secs_f64() * 1e3
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.no_sqlite {
        let dir = tempfile_dir()?;
        let store = Store::open(
            &DbTarget::Sqlite(dir.join(venus_messager::store::SQLITE_FILE)),
            Duration::from_secs(5),
        )
        .await?;
        measure("sqlite", store, &args).await?;
        let _ = std::fs::remove_dir_all(&dir);
    }
    if let Some(dsn) = &args.mysql_dsn {
        let store = Store::open(&DbTarget::Mysql(dsn.clone()), Duration::from_secs(30)).await?;
        measure("mysql", store, &args).await?;
    }
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("venus-messager-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
