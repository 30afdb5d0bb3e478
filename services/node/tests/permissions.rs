//! The permission matrix over real HTTP: the node's router behind the rpc crate's server,
//! tokens at each level from a verifier this test controls. Every served method needs
//! exactly venus v1's permission.

use std::sync::Arc;

use venus_api::full_node::v1_permission;
use venus_rpc::{LocalVerifier, Permission};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_served_method_needs_exactly_its_venus_permission() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = venus_node::repo::Repo::new(dir.path());
    repo.ensure_dirs().expect("repo");
    let node = venus_node::node::Node::open(
        &repo,
        venus_node::network::Network::TwoK,
        venus_node::node::GenesisSource::Default,
    )
    .expect("node");
    let router = venus_node::api::router(node.clone());
    let names: Vec<&'static str> = router.names().collect();
    assert!(names.len() >= 5, "{names:?}");
    for name in &names {
        assert_eq!(router.permission(name), v1_permission(name), "{name}");
    }
    let verifier = Arc::new(LocalVerifier::new(b"permission-matrix".to_vec()));
    let metrics = venus_rpc::observe::Metrics::new();
    let app = venus_node::server::app(node, verifier.clone(), &metrics);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/rpc/v1", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(venus_rpc::serve(listener, app, async move {
        let _ = stopped.await;
    }));
    let http = venus_rpc::tls::http_client_builder()
        .build()
        .expect("http client");
    for name in &names {
        let need = v1_permission(name).expect("listed");
        for held in Permission::ALL {
            let token = verifier.issue("matrix", held);
            // Params that decode for most methods do not matter: the permission check runs first.
            let body: serde_json::Value = http
                .post(&url)
                .bearer_auth(&token)
                .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": name, "params": []}))
                .send()
                .await
                .expect("send")
                .json()
                .await
                .expect("json");
            let denied = body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("missing permission"));
            assert_eq!(denied, !held.grants(need), "{name} with {held}: {body}");
        }
    }
    let _ = stop.send(());
    let _ = server.await;
}
