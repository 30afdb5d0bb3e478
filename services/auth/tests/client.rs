//! `venus-auth-client` against the real `venus-auth` binary: cached verify, the RPC
//! verifier mapping, and the typed user/miner/signer queries the other services use.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use venus_auth_client::{AuthClient, ClientError};
use venus_rpc::{ChainVerifier, LocalVerifier, Permission, TokenVerifier, VerifyError};

#[tokio::test]
async fn client_queries_and_cached_verification() {
    let home = Home::new(&Backend::Sqlite);
    let server = home.start();
    let multiaddr = format!("/ip4/127.0.0.1/tcp/{}", home.port);
    let admin = AuthClient::new(&multiaddr, &server.admin_token).unwrap();

    // Typed calls as gateway / node / miner make them.
    admin.create_user("u1", None, 1).await.unwrap();
    assert!(admin.upsert_miner("u1", "f01000", true).await.unwrap());
    assert_eq!(admin.get_user_by_miner("f01000").await.unwrap().name, "u1");
    assert!(admin.miner_exists("u1", "f01000").await.unwrap());
    assert!(!admin.miner_exists("u1", "f01001").await.unwrap());
    assert_eq!(admin.list_miners("u1").await.unwrap()[0].miner, "f01000");
    let signer = "f1tclomb6b7dyohhken7bbqpgskiplvgyzd6bekoi";
    admin.register_signer("u1", signer).await.unwrap();
    assert!(admin.has_signer(signer).await.unwrap());
    assert!(admin.signer_exists("u1", signer).await.unwrap());
    assert_eq!(
        admin.get_user_by_signer(signer).await.unwrap()[0].name,
        "u1"
    );
    assert_eq!(admin.get_user("u1").await.unwrap().state, 1);
    assert_eq!(admin.list_users(0, 10, 0).await.unwrap().len(), 2);
    let err = admin.get_user("nobody").await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Refused { status: 400, message } if message.contains("nobody")),
        "{err}"
    );

    // Cached verify: a removed token keeps working through the cache for its TTL only.
    let token = admin.gen_token("u1", Permission::Write, "").await.unwrap();
    let service = AuthClient::new(&server.url, &server.admin_token)
        .unwrap()
        .with_cache(Duration::from_millis(700), 16);
    let caller = TokenVerifier::verify(&service, &token).await.unwrap();
    assert_eq!(
        (caller.user.as_str(), caller.perm),
        ("u1", Permission::Write)
    );
    assert_eq!(service.cache().len(), 1);
    admin.remove_token(&token).await.unwrap();
    assert!(service.verify(&token).await.is_ok(), "still cached");
    assert!(
        service.verify_uncached(&token).await.is_err(),
        "venus-auth refuses it at once"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    let err = TokenVerifier::verify(&service, &token).await.unwrap_err();
    assert!(matches!(err, VerifyError::Invalid(_)), "{err}");

    // Chained after a service's local verifier, as every service does.
    let local = Arc::new(LocalVerifier::new(b"local-secret".to_vec()));
    let chain = ChainVerifier::new(vec![local.clone(), Arc::new(service)]);
    let local_token = local.issue("defaultLocalToken", Permission::Admin);
    assert_eq!(
        chain.verify(&local_token).await.unwrap().perm,
        Permission::Admin
    );
    let read = admin.gen_token("u1", Permission::Read, "").await.unwrap();
    assert_eq!(chain.verify(&read).await.unwrap().user, "u1");
    assert!(matches!(
        chain.verify("garbage").await,
        Err(VerifyError::Invalid(_))
    ));
}

#[tokio::test]
async fn auth_down_is_unavailable_not_invalid() {
    let client = AuthClient::new(&format!("127.0.0.1:{}", free_port()), "some-token").unwrap();
    let err = TokenVerifier::verify(&client, "a.b.c").await.unwrap_err();
    assert!(matches!(err, VerifyError::Unavailable(_)), "{err}");
    assert!(
        !err.to_string().contains("a.b.c"),
        "the token is not in the error"
    );
    assert!(matches!(
        AuthClient::new("127.0.0.1:1", " "),
        Err(ClientError::EmptyToken)
    ));
    assert!(matches!(
        AuthClient::new("/ip4/1.2.3.4", "t"),
        Err(ClientError::Address(_))
    ));
}
