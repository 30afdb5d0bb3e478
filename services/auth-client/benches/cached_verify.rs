//! In-process cost of a cached `AuthClient::verify` (the hot path of every service that
//! authenticates callers through venus-auth), at several cache sizes.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use venus_auth_client::AuthClient;
use venus_auth_client::types::VerifyResponse;
use venus_rpc::{Permission, TokenVerifier};

fn token(i: usize) -> String {
    // Real-sized venus JWTs (~150 bytes).
    let claims = venus_rpc::jwt::Claims {
        name: format!("user{i}"),
        perm: Permission::Write,
        ext: String::new(),
    };
    venus_rpc::jwt::sign(&claims, b"bench-secret")
}

fn cached_verify(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    for size in [1usize, 1_000, 10_000] {
        let client = AuthClient::new("127.0.0.1:1", "service-token")
            .expect("valid address")
            .with_cache(Duration::from_secs(3600), size);
        let tokens: Vec<String> = (0..size).map(token).collect();
        for (i, t) in tokens.iter().enumerate() {
            let claims = VerifyResponse {
                name: format!("user{i}"),
                perm: Permission::Write,
                ext: String::new(),
            };
            client.cache().insert(t, claims);
        }
        let mut i = 0usize;
        c.bench_function(&format!("cached_verify/{size}_tokens"), |b| {
            b.iter(|| {
                i = (i + 1) % size;
                let caller = rt.block_on(TokenVerifier::verify(&client, black_box(&tokens[i])));
                black_box(caller.expect("cache hit"))
            })
        });
    }
}

criterion_group!(benches, cached_verify);
criterion_main!(benches);
