//! CLI commands that call the running daemon over JSON-RPC (`/rpc/v1`), finding it the way
//! venus does: `--cmdapiaddr`, else env `FIL_API`, else `<repo>/api`; the token from
//! `--token`, else `<repo>/token`.

use std::path::PathBuf;

use anyhow::Context as _;
use venus_api::full_node as api;
use venus_rpc::Client;
use venus_types::{TipSet, TipSetKey};

use crate::cli::{ChainCommand, Command, SyncCommand};
use crate::repo::{Repo, default_repo_path};

/// Stage numbers of `SyncState` (Lotus `api.SyncStateStage`).
pub const STAGE_IDLE: i64 = 0;
pub const STAGE_COMPLETE: i64 = 4;
pub const STAGE_ERROR: i64 = 5;

pub async fn run(
    repo: &Option<PathBuf>,
    api_addr: Option<&str>,
    token: Option<&str>,
    cmd: Command,
) -> anyhow::Result<()> {
    let repo = Repo::new(&repo.clone().unwrap_or_else(default_repo_path));
    let addr = match api_addr {
        Some(a) => a.to_owned(),
        None => repo.read_api()?,
    };
    let token = match token {
        Some(t) => t.to_owned(),
        None => repo.read_token()?,
    };
    let client = Client::builder(&addr)
        .token(Some(token))
        .version("v1")
        .connect()
        .await
        .with_context(|| format!("cannot reach the venus daemon at {addr} (is it running?)"))?;
    match cmd {
        Command::Sync(SyncCommand::Status) => sync_status(&client).await,
        Command::Chain(ChainCommand::Head) => chain_head(&client).await,
        Command::Chain(ChainCommand::Export { output }) => chain_export(&client, &output).await,
        Command::Version => {
            let v = client.call(api::VERSION, ()).await?;
            println!("{}", pretty(&v)?);
            Ok(())
        }
        Command::Daemon(_) | Command::Seed(_) => anyhow::bail!("internal: not a client command"),
    }
}

/// JSON indented with tabs, venus's `pretty-json` encoding.
fn pretty<T: serde::Serialize>(v: &T) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser)?;
    Ok(String::from_utf8(out)?)
}

/// `{ cid1 cid2 }`, as venus prints a TipSetKey.
pub fn format_key(key: &TipSetKey) -> String {
    let mut s = String::from("{");
    for c in key.cids() {
        s.push(' ');
        s.push_str(&c.to_string());
    }
    s.push_str(" }");
    s
}

fn describe(ts: &Option<TipSet>) -> String {
    match ts {
        Some(ts) => format!("{} {}", ts.height(), format_key(ts.key())),
        None => "<nil>".into(),
    }
}

async fn sync_status(client: &Client) -> anyhow::Result<()> {
    let state = client.call(api::SYNC_STATE, ()).await?;
    print!("{}", render_sync_status(&state));
    Ok(())
}

/// venus's `sync status` text. A worker that is complete prints as the history entry and
/// `Done!`; anything else prints under `Waiting:` with its status and error, so a node that
/// cannot sync never claims to be done.
pub fn render_sync_status(state: &api::SyncState) -> String {
    let mut out = String::new();
    let pending: Vec<_> = state
        .active_syncs
        .iter()
        .filter(|s| s.stage != STAGE_COMPLETE)
        .collect();
    if pending.is_empty() {
        for s in &state.active_syncs {
            let head = s
                .target
                .as_ref()
                .map(|t| format_key(t.key()))
                .unwrap_or_else(|| "{ }".into());
            out.push_str(&format!(
                "{{sender:{} height={} head={}}}\n",
                sync_sender(s),
                s.height,
                head
            ));
        }
        out.push_str("Done!\n");
        return out;
    }
    out.push_str("Waiting:\n");
    for (i, s) in pending.iter().enumerate() {
        let current = s.target.as_ref().map(|t| t.height()).unwrap_or(0);
        out.push_str(&format!("SyncTarget: {}\n", i + 1));
        out.push_str(&format!("\tBase: {}\n", describe(&s.base)));
        out.push_str(&format!("\tTarget: {}\n", describe(&s.target)));
        out.push_str(&format!("\tCurrent: {} \n", current));
        out.push_str(&format!("\tHeightDiff: {}\n", s.height - current));
        out.push_str(&format!("\tStatus: {}\n", stage_name(s.stage)));
        let err = if s.message.is_empty() {
            "<nil>".to_owned()
        } else {
            s.message.clone()
        };
        out.push_str(&format!("\tErr: {err}\n\n"));
    }
    out
}

fn sync_sender(s: &api::ActiveSync) -> &str {
    if s.message.is_empty() {
        "local"
    } else {
        &s.message
    }
}

pub fn stage_name(stage: i64) -> &'static str {
    match stage {
        0 => "idle",
        1 => "header sync",
        2 => "persisting headers",
        3 => "message sync",
        4 => "complete",
        5 => "error",
        6 => "fetching messages",
        _ => "unknown",
    }
}

async fn chain_head(client: &Client) -> anyhow::Result<()> {
    let head = client.call(api::CHAIN_HEAD, ()).await?;
    let ts = head.blocks().first().map(|b| b.timestamp).unwrap_or(0);
    let when = chrono::DateTime::from_timestamp(i64::try_from(ts).unwrap_or(0), 0)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default();
    let out = serde_json::json!({
        "Height": head.height(),
        "ParentWeight": head.parent_weight().to_string(),
        "Cids": head.cids(),
        "Timestamp": when,
    });
    println!("{}", pretty(&out)?);
    Ok(())
}

async fn chain_export(_client: &Client, output: &std::path::Path) -> anyhow::Result<()> {
    anyhow::bail!(
        "chain export to {} is not available: the chain crate's CAR export is not wired into the daemon yet",
        output.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_status_never_says_done_while_waiting() {
        let state = api::SyncState {
            active_syncs: vec![api::ActiveSync {
                worker_id: 0,
                base: None,
                target: None,
                stage: STAGE_ERROR,
                height: 0,
                start: String::new(),
                end: String::new(),
                message: "no peers reachable".into(),
            }],
            vm_applied: 0,
        };
        let text = render_sync_status(&state);
        assert!(
            text.starts_with("Waiting:\nSyncTarget: 1\n\tBase: <nil>\n"),
            "{text}"
        );
        assert!(
            text.contains("\tStatus: error\n\tErr: no peers reachable\n"),
            "{text}"
        );
        assert!(!text.contains("Done!"));
        let done = api::SyncState {
            active_syncs: vec![api::ActiveSync {
                stage: STAGE_COMPLETE,
                message: String::new(),
                ..state.active_syncs[0].clone()
            }],
            vm_applied: 0,
        };
        assert_eq!(
            render_sync_status(&done),
            "{sender:local height=0 head={ }}\nDone!\n"
        );
    }
}
