//! One link per (gateway, miner): `ListenProofEvent`, answer `ComputeProof` events, and start
//! over after a disconnect.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use venus_api::gateway::{
    self as api, ComputeProofRequest, ProofRegisterPolicy, RequestEvent, ResponseEvent, event,
};
use venus_rpc::Client;
use venus_types::Address;

use venus_consensus::WinningPoStScheme;

use crate::prove;
use crate::store::SectorStore;

const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(10);

pub struct ProverLink {
    pub gateway: String,
    pub token: String,
    pub miner: Address,
    pub store: Arc<SectorStore>,
    pub scheme: Arc<dyn WinningPoStScheme>,
}

impl ProverLink {
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut delay = RETRY_MIN;
        loop {
            let outcome = tokio::select! {
                r = self.session_once() => r,
                _ = stop.cancelled() => return,
            };
            match outcome {
                Ok(()) => {
                    tracing::warn!(gateway = %self.gateway, miner = %self.miner, "gateway closed the proof channel; reconnecting");
                    delay = RETRY_MIN;
                }
                Err(e) => {
                    tracing::warn!(gateway = %self.gateway, miner = %self.miner, error = %e, retry_in = ?delay, "prover link failed")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.cancelled() => return,
            }
            delay = (delay * 2).min(RETRY_MAX);
        }
    }

    async fn session_once(&self) -> anyhow::Result<()> {
        let client = Client::builder(&self.gateway)
            .version("v2")
            .token(Some(self.token.clone()))
            .connect()
            .await?;
        let policy = ProofRegisterPolicy {
            miner_address: self.miner,
        };
        let mut events = client.subscribe(api::LISTEN_PROOF_EVENT, (policy,)).await?;
        while let Some(ev) = events.next().await {
            if ev.method == event::INIT_CONNECT {
                tracing::info!(gateway = %self.gateway, miner = %self.miner, "registered with gateway");
                continue;
            }
            let client = client.clone();
            let store = self.store.clone();
            let scheme = self.scheme.clone();
            let miner = self.miner;
            let id = ev.id;
            tokio::spawn(async move {
                // Proving is CPU work: keep it off the async threads.
                let resp =
                    tokio::task::spawn_blocking(move || answer(&*scheme, &store, &miner, &ev))
                        .await
                        .unwrap_or_else(|e| ResponseEvent {
                            id,
                            payload: Vec::new().into(),
                            error: format!("prover task failed: {e}"),
                        });
                if let Err(e) = client.call(api::RESPONSE_PROOF_EVENT, (resp,)).await {
                    tracing::warn!(error = %e, "could not deliver the proof to the gateway");
                }
            });
        }
        Ok(())
    }
}

fn answer(
    scheme: &dyn WinningPoStScheme,
    store: &SectorStore,
    miner: &Address,
    ev: &RequestEvent,
) -> ResponseEvent {
    let result = match ev.method.as_str() {
        event::COMPUTE_PROOF => serde_json::from_slice::<ComputeProofRequest>(&ev.payload)
            .map_err(|e| format!("bad ComputeProof payload: {e}"))
            .and_then(|req| prove::compute(scheme, store, miner, &req))
            .and_then(|proofs| serde_json::to_vec(&proofs).map_err(|e| e.to_string())),
        other => Err(format!("unsupported event method {other}")),
    };
    match result {
        Ok(payload) => ResponseEvent {
            id: ev.id,
            payload: payload.into(),
            error: String::new(),
        },
        Err(error) => {
            tracing::warn!(request = %ev.id, %miner, %error, "ComputeProof refused");
            ResponseEvent {
                id: ev.id,
                payload: Vec::new().into(),
                error,
            }
        }
    }
}
