//! CLI commands that call the running daemon over JSON-RPC (`/rpc/v1`), finding it the way
//! venus does: `--cmdapiaddr`, else env `FIL_API`, else `<repo>/api`; the token from
//! `--token`, else `<repo>/token`.

use std::path::PathBuf;

use anyhow::Context as _;
use venus_api::full_node as api;
use venus_rpc::Client;
use venus_types::{TipSet, TipSetKey};

use crate::cli::{ChainCommand, Command, NetCommand, SyncCommand};
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
        Command::Chain(ChainCommand::Export {
            tipset,
            recent_stateroots,
            skip_old_msgs,
            output,
        }) => {
            let opts = ExportArgs {
                tipset: &tipset,
                recent_roots: recent_stateroots,
                skip_old_msgs,
            };
            chain_export(&client, opts, &output).await
        }
        Command::Net(cmd) => net(&client, cmd).await,
        Command::Version => {
            let v = client.call(api::VERSION, ()).await?;
            println!("{}", pretty(&v)?);
            Ok(())
        }
        Command::Daemon(_) | Command::Seed(_) => anyhow::bail!("internal: not a client command"),
    }
}

/// `venus net …`, as Lotus's `net` commands print.
async fn net(client: &Client, cmd: NetCommand) -> anyhow::Result<()> {
    match cmd {
        NetCommand::Peers => {
            for p in client.call(api::NET_PEERS, ()).await? {
                println!("{}, [{}]", p.id, p.addrs.join(" "));
            }
        }
        NetCommand::Id => println!("{}", client.call(api::ID, ()).await?),
        NetCommand::Listen => {
            let info = client.call(api::NET_ADDRS_LISTEN, ()).await?;
            for a in info.addrs {
                println!("{a}/p2p/{}", info.id);
            }
        }
        NetCommand::Connect { addrs } => {
            for a in addrs {
                let info = split_p2p(&a)?;
                let id = info.id.clone();
                client
                    .call(api::NET_CONNECT, (info,))
                    .await
                    .with_context(|| format!("connect {id}"))?;
                println!("connect {id}: success");
            }
        }
    }
    Ok(())
}

/// `/ip4/…/tcp/…/p2p/<id>` → `AddrInfo {ID: <id>, Addrs: [/ip4/…/tcp/…]}`.
pub fn split_p2p(addr: &str) -> anyhow::Result<api::AddrInfo> {
    let (transport, id) = addr
        .rsplit_once("/p2p/")
        .filter(|(_, id)| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| {
            anyhow::anyhow!("{addr:?} is not a peer address: it must end in /p2p/<peer ID>")
        })?;
    Ok(api::AddrInfo {
        id: id.to_owned(),
        addrs: if transport.is_empty() {
            Vec::new()
        } else {
            vec![transport.to_owned()]
        },
    })
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

/// Chain finality in epochs: `--recent-stateroots` must reach at least this far (venus).
pub const CHAIN_FINALITY: i64 = 900;

/// `chain export` flags.
#[derive(Debug, Clone, Copy)]
pub struct ExportArgs<'a> {
    pub tipset: &'a str,
    pub recent_roots: i64,
    pub skip_old_msgs: bool,
}

impl ExportArgs<'_> {
    /// venus's checks, with its messages.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.recent_roots < 0 {
            anyhow::bail!(
                "--recent-stateroots {} must not be negative",
                self.recent_roots
            );
        }
        if self.recent_roots > 0 && self.recent_roots < CHAIN_FINALITY {
            anyhow::bail!("\"recent-stateroots\" has to be greater than {CHAIN_FINALITY}");
        }
        if self.recent_roots == 0 && self.skip_old_msgs {
            anyhow::bail!("must pass recent stateroots along with skip-old-msgs");
        }
        Ok(())
    }
}

/// What `--tipset` names: `""`/`@head`, `@<height>`, or block CIDs separated by commas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TipSetRef {
    Head,
    Height(i64),
    Key(TipSetKey),
}

pub fn parse_tipset_ref(s: &str) -> anyhow::Result<TipSetRef> {
    let s = s.trim();
    if s.is_empty() || s == "@head" {
        return Ok(TipSetRef::Head);
    }
    if let Some(h) = s.strip_prefix('@') {
        let h: u64 = h
            .parse()
            .map_err(|_| anyhow::anyhow!("invalid --tipset {s:?}: expected @head, @<height> or block CIDs separated by commas"))?;
        let h =
            i64::try_from(h).map_err(|_| anyhow::anyhow!("--tipset height {h} is too large"))?;
        return Ok(TipSetRef::Height(h));
    }
    let cids = s
        .split(',')
        .map(|c| {
            c.trim().parse::<venus_types::Cid>().map_err(|e| {
                anyhow::anyhow!("invalid --tipset {s:?}: {:?} is not a CID: {e}", c.trim())
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(TipSetRef::Key(TipSetKey::new(cids)))
}

async fn load_tipset(client: &Client, r: &TipSetRef) -> anyhow::Result<TipSet> {
    Ok(match r {
        TipSetRef::Head => client.call(api::CHAIN_HEAD, ()).await?,
        TipSetRef::Height(h) => {
            client
                .call(api::CHAIN_GET_TIP_SET_BY_HEIGHT, (*h, TipSetKey::default()))
                .await?
        }
        TipSetRef::Key(k) => client.call(api::CHAIN_GET_TIP_SET, (k.clone(),)).await?,
    })
}

/// `venus chain export`: the daemon streams the CAR over `ChainExport`; chunks go to
/// `<output>.partial`, renamed to `<output>` once the daemon's end marker (an empty chunk)
/// arrived, so a cut-short export never looks like a complete file.
async fn chain_export(
    client: &Client,
    args: ExportArgs<'_>,
    output: &std::path::Path,
) -> anyhow::Result<()> {
    args.validate()?;
    let ts = load_tipset(client, &parse_tipset_ref(args.tipset)?).await?;
    let partial = {
        let mut p = output.as_os_str().to_owned();
        p.push(".partial");
        PathBuf::from(p)
    };
    let mut file = std::fs::File::create(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    eprintln!(
        "exporting the chain from height {} {} to {}",
        ts.height(),
        format_key(ts.key()),
        output.display()
    );
    let streamed = stream_export(client, &ts, args, &mut file, &partial).await;
    let finished = streamed.and_then(|bytes| {
        file.sync_all()
            .with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, output).with_context(|| {
            format!(
                "cannot rename {} to {}",
                partial.display(),
                output.display()
            )
        })?;
        Ok(bytes)
    });
    match finished {
        Ok(bytes) => {
            eprintln!("export done: {bytes} bytes written to {}", output.display());
            Ok(())
        }
        Err(e) => {
            drop(file);
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

async fn stream_export(
    client: &Client,
    ts: &TipSet,
    args: ExportArgs<'_>,
    file: &mut std::fs::File,
    path: &std::path::Path,
) -> anyhow::Result<u64> {
    use futures::StreamExt as _;
    use std::io::Write as _;
    let mut chunks = client
        .subscribe(
            api::CHAIN_EXPORT,
            (args.recent_roots, args.skip_old_msgs, ts.key().clone()),
        )
        .await
        .context("the daemon refused ChainExport")?;
    let mut written = 0u64;
    let mut reported = std::time::Instant::now();
    while let Some(chunk) = chunks.next().await {
        if chunk.is_empty() {
            return Ok(written);
        }
        file.write_all(&chunk)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written += chunk.len() as u64;
        if reported.elapsed() >= std::time::Duration::from_secs(1) {
            eprintln!("{written} bytes written");
            reported = std::time::Instant::now();
        }
    }
    anyhow::bail!(
        "incomplete export: the stream ended after {written} bytes without the daemon's end marker (the export failed on the daemon, see its log, or the connection was lost)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tipset_refs_and_export_flags_as_venus_reads_them() {
        assert_eq!(parse_tipset_ref("").expect("empty"), TipSetRef::Head);
        assert_eq!(parse_tipset_ref("@head").expect("head"), TipSetRef::Head);
        assert_eq!(
            parse_tipset_ref("@12").expect("height"),
            TipSetRef::Height(12)
        );
        let a = "bafy2bzacecdjkonzc5lf67xa3u35fhq7l3vt5x25recbjel2g3cuesobex454";
        let b = "bafy2bzaceaxm23epjsmh75yvzcecsrbavlmkcxnva66bkdebdcnyw3bjrc74u";
        let key = parse_tipset_ref(&format!("{a}, {b}")).expect("cids");
        let TipSetRef::Key(key) = key else {
            panic!("expected a key, got {key:?}")
        };
        let text: Vec<String> = key.cids().iter().map(|c| c.to_string()).collect();
        assert_eq!(text, [a, b]);
        for bad in ["@-1", "@tip", "notacid", "bafy,"] {
            let e = parse_tipset_ref(bad).expect_err(bad).to_string();
            assert!(e.contains("invalid --tipset"), "{bad}: {e}");
        }

        let args = |recent_roots, skip_old_msgs| ExportArgs {
            tipset: "",
            recent_roots,
            skip_old_msgs,
        };
        args(0, false).validate().expect("defaults");
        args(900, true).validate().expect("finality");
        let e = args(899, false).validate().expect_err("below finality");
        assert_eq!(
            e.to_string(),
            "\"recent-stateroots\" has to be greater than 900"
        );
        let e = args(0, true).validate().expect_err("skip without roots");
        assert!(e.to_string().contains("along with skip-old-msgs"));
        assert!(args(-5, false).validate().is_err());
    }

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
