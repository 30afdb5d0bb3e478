//! The config file each binary reads on bare metal (same keys as the originals), rendered into
//! a ConfigMap. No secret ever goes here: tokens, the JWT secret and MySQL DSNs reach the pods
//! through Secret-backed env vars and files.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::json;
use toml::{Table, Value};

use super::BuildContext;
use crate::component::{Component, uses_mysql};
use crate::secrets::{JWT_SECRET_KEY, TOKEN_COMPONENTS, token_key};

/// Where the Secret with venus-auth's JWT secret is mounted in auth pods.
pub const JWT_SECRET_DIR: &str = "/var/run/secrets/venus/jwt";
/// Where the admin-token Secret is mounted in auth pods (registered at start).
pub const ADMIN_TOKEN_DIR: &str = "/var/run/secrets/venus/admin-token";

pub fn config_map(ctx: &BuildContext, component: Component) -> ConfigMap {
    let mut data = BTreeMap::new();
    data.insert(
        component.config_file().to_string(),
        config_file(ctx, component),
    );
    ConfigMap {
        metadata: ctx.meta(ctx.names.component(component), Some(component)),
        data: Some(data),
        ..Default::default()
    }
}

/// The file's text.
pub fn config_file(ctx: &BuildContext, component: Component) -> String {
    match component {
        Component::Node => node_json(ctx),
        _ => toml::to_string(&toml_table(ctx, component)).unwrap_or_default(),
    }
}

fn table<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Table(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

fn toml_table(ctx: &BuildContext, component: Component) -> Table {
    let names = &ctx.names;
    let spec = ctx.spec();
    let db_type = if uses_mysql(component.spec(spec)) {
        "mysql"
    } else {
        "sqlite"
    };
    let listen_multiaddr = format!("/ip4/0.0.0.0/tcp/{}", component.port());
    let gateways: Vec<Value> = names
        .pod_multiaddrs(
            Component::Gateway,
            ctx.valid.component(Component::Gateway).replicas,
        )
        .into_iter()
        .map(Value::String)
        .collect();
    let mut t = Table::new();
    match component {
        Component::Auth => {
            // venus-auth: plain host:port listen; the DSN comes from --mysql-dsn.
            t.insert("Listen".into(), s(format!("0.0.0.0:{}", component.port())));
            t.insert("ReadTimeout".into(), s("1m"));
            t.insert("WriteTimeout".into(), s("1m"));
            t.insert("IdleTimeout".into(), s("1m"));
            t.insert("db".into(), table([("type", s(db_type))]));
            // The operator's secret instead of a per-pod <repo>/secret (replicas must agree),
            // and each component's admin token registered at start so that component can use it.
            t.insert(
                "jwt".into(),
                table([
                    (
                        "secretFile",
                        s(format!("{JWT_SECRET_DIR}/{JWT_SECRET_KEY}")),
                    ),
                    (
                        "adminTokenFiles",
                        Value::Array(
                            TOKEN_COMPONENTS
                                .iter()
                                .map(|c| s(format!("{ADMIN_TOKEN_DIR}/{}", token_key(*c))))
                                .collect(),
                        ),
                    ),
                ]),
            );
            t.insert("log".into(), table([("LogLevel", s("info"))]));
        }
        Component::Gateway => {
            // The gateway serves /metrics on its API port: no `[Metrics]` exporter section.
            t.insert(
                "API".into(),
                table([("ListenAddress", s(listen_multiaddr))]),
            );
            t.insert("Auth".into(), table([("URL", s(names.auth_url()))]));
            // Targets of the header reverse proxy (`X-VENUS-API-NAMESPACE`), as sophon-gateway's
            // clients expect them: the node Service, and the primaries of messager and miner.
            t.insert("Node".into(), s(names.multiaddr(Component::Node)));
            t.insert(
                "Messager".into(),
                s(names.primary_multiaddr(Component::Messager)),
            );
            t.insert("Miner".into(), s(names.primary_multiaddr(Component::Miner)));
        }
        Component::Messager => {
            t.insert("api".into(), table([("Address", s(listen_multiaddr))]));
            t.insert("db".into(), table([("type", s(db_type))]));
            t.insert("jwt".into(), table([("authURL", s(names.auth_url()))]));
            t.insert(
                "node".into(),
                table([("url", s(names.multiaddr(Component::Node)))]),
            );
            t.insert("gateway".into(), table([("url", Value::Array(gateways))]));
            // Primary/standby is decided by the Lease, not by these switches (see HA in README).
            t.insert(
                "messageService".into(),
                table([
                    ("skipProcessHead", Value::Boolean(false)),
                    ("skipPushMessage", Value::Boolean(false)),
                ]),
            );
            t.insert(
                "ha".into(),
                table([
                    ("leaseName", s(names.lease(component))),
                    ("leaseNamespace", s(names.namespace.clone())),
                ]),
            );
        }
        Component::Miner => {
            t.insert(
                "API".into(),
                table([("ListenAddress", s(listen_multiaddr))]),
            );
            t.insert(
                "FullNode".into(),
                table([("Addr", s(names.multiaddr(Component::Node)))]),
            );
            t.insert(
                "Gateway".into(),
                table([("ListenAPI", Value::Array(gateways))]),
            );
            t.insert("Auth".into(), table([("Addr", s(names.auth_url()))]));
            // Only the Lease holder mines, so the local slash filter sees every block it makes.
            t.insert("SlashFilter".into(), table([("Type", s("local"))]));
            t.insert(
                "HA".into(),
                table([
                    ("LeaseName", s(names.lease(component))),
                    ("LeaseNamespace", s(names.namespace.clone())),
                ]),
            );
        }
        Component::Node => {}
    }
    t
}

fn node_json(ctx: &BuildContext) -> String {
    let value = json!({
        "api": {
            "apiAddress": format!("/ip4/0.0.0.0/tcp/{}", Component::Node.port()),
            "venusAuthURL": ctx.names.auth_url(),
        },
        // venus records the network as its numeric `types.NetworkType`.
        "parameters": { "networkType": ctx.spec().network.name.network_type() },
        // A fixed libp2p port, published by the headless Service: the other node pods dial it
        // (their bootstrap addresses are flags, see workload.rs).
        "swarm": { "address": format!("/ip4/0.0.0.0/tcp/{}", super::NODE_SWARM_PORT) },
    });
    // The original writes config.json tab-indented; any JSON parser reads this.
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::tests::context_for;

    #[test]
    fn messager_lists_every_gateway_pod_and_no_secret() {
        let mut cs = crate::build::tests::chain_service();
        cs.spec.gateway.replicas = Some(2);
        context_for(&cs, |ctx| {
            let text = config_file(ctx, Component::Messager);
            let parsed: Table = toml::from_str(&text).expect("valid TOML");
            let urls = parsed["gateway"]["url"].as_array().expect("array");
            assert_eq!(urls.len(), 2);
            assert_eq!(
                urls[1].as_str(),
                Some("/dns/cs-gateway-1.cs-gateway-headless.ns.svc/tcp/45132")
            );
            assert!(!text.to_lowercase().contains("token"), "{text}");
        });
    }

    #[test]
    fn node_config_is_json_listening_on_all_interfaces() {
        context_for(&crate::build::tests::chain_service(), |ctx| {
            let v: serde_json::Value =
                serde_json::from_str(&config_file(ctx, Component::Node)).expect("json");
            assert_eq!(v["api"]["apiAddress"], "/ip4/0.0.0.0/tcp/3453");
            assert_eq!(v["api"]["venusAuthURL"], "http://cs-auth.ns.svc:8989");
            assert_eq!(v["parameters"]["networkType"], 1, "mainnet, as a number");
            assert_eq!(v["swarm"]["address"], "/ip4/0.0.0.0/tcp/1347");
        });
    }

    #[test]
    fn auth_reads_the_mounted_secret_and_admin_token() {
        context_for(&crate::build::tests::chain_service(), |ctx| {
            let parsed: Table =
                toml::from_str(&config_file(ctx, Component::Auth)).expect("valid TOML");
            assert_eq!(
                parsed["jwt"]["secretFile"].as_str(),
                Some("/var/run/secrets/venus/jwt/secret")
            );
            let files: Vec<_> = parsed["jwt"]["adminTokenFiles"]
                .as_array()
                .expect("a list of token files")
                .iter()
                .filter_map(|f| f.as_str())
                .collect();
            assert_eq!(
                files,
                ["gateway", "node", "messager", "miner"]
                    .map(|c| format!("/var/run/secrets/venus/admin-token/{c}"))
            );
            assert_eq!(parsed["log"]["LogLevel"].as_str(), Some("info"));
        });
    }
}
