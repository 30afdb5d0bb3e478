//! An in-process gateway on a loopback port (`/rpc/v2`, an allow-all account directory, the
//! caller's token verifier), for the benchmarks and tests of what dials a gateway: wallets,
//! provers, markets. It stops when dropped.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use venus_rpc::TokenVerifier;
use venus_rpc::observe::Metrics;

use crate::config::RequestSection;
use crate::directory::AllowAll;
use crate::metrics::GatewayMetrics;
use crate::service::Gateway;

pub struct LocalGateway {
    pub gateway: Arc<Gateway>,
    pub port: u16,
    stop: CancellationToken,
}

impl LocalGateway {
    pub async fn start(verifier: Arc<dyn TokenVerifier>) -> std::io::Result<Self> {
        let metrics = Metrics::new();
        let gateway = Gateway::new(
            Arc::new(AllowAll),
            RequestSection::default(),
            GatewayMetrics::register(&metrics),
        );
        let app = venus_rpc::Server::new(crate::api::v2(&gateway), verifier)
            .paths(&["/rpc/v2"])
            .metrics(&metrics)
            .into_router();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            venus_rpc::serve(listener, app, async move { stopped.cancelled().await }).await
        });
        Ok(Self {
            gateway,
            port,
            stop,
        })
    }

    /// A caller of `/rpc/v2` with `token`, over HTTP or a WebSocket.
    pub async fn client(
        &self,
        token: String,
        websocket: bool,
    ) -> Result<venus_rpc::Client, venus_rpc::ClientError> {
        let scheme = if websocket { "ws" } else { "http" };
        venus_rpc::Client::builder(&format!("{scheme}://127.0.0.1:{}/rpc/v2", self.port))
            .token(Some(token))
            .timeout(std::time::Duration::from_secs(30))
            .connect()
            .await
    }
}

impl Drop for LocalGateway {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
