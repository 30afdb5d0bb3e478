//! The libp2p behaviours the service composes, built from its config.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    StreamProtocol, allow_block_list, connection_limits, gossipsub, identify, identity::Keypair,
    ping, request_response,
};

use crate::config::Limits;
use crate::frame::CborCodec;
use crate::hello::{self, HelloMessage, LatencyMessage};
use crate::xchg;

pub(crate) type HelloCodec = CborCodec<HelloMessage, LatencyMessage>;
pub(crate) type XchgCodec = CborCodec<xchg::Request, xchg::Response>;

/// Lotus's identify protocol version.
const IDENTIFY_PROTOCOL_VERSION: &str = "ipfs/0.1.0";

/// Room a gossipsub RPC needs around its data (author, sequence number, signature, topic).
const GOSSIP_FRAME_OVERHEAD: usize = 4 << 10;

#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    pub(crate) gossipsub: gossipsub::Behaviour,
    pub(crate) hello: request_response::Behaviour<HelloCodec>,
    pub(crate) xchg: request_response::Behaviour<XchgCodec>,
}

impl Behaviour {
    /// `bad_frames` counts hello and chain-exchange frames that could not be read.
    pub(crate) fn new(
        keypair: &Keypair,
        limits: &Limits,
        topics: &[gossipsub::IdentTopic],
        bad_frames: &Arc<AtomicU64>,
    ) -> anyhow::Result<Self> {
        let connection_limits = connection_limits::ConnectionLimits::default()
            .with_max_established(Some(
                u32::try_from(limits.max_peers.saturating_mul(2).saturating_add(16))
                    .unwrap_or(u32::MAX),
            ))
            .with_max_established_per_peer(Some(limits.max_connections_per_peer))
            .with_max_pending_incoming(Some(limits.max_pending_connections))
            .with_max_pending_outgoing(Some(limits.max_pending_connections));

        let request_config = |streams: usize| {
            request_response::Config::default()
                .with_request_timeout(limits.request_timeout)
                .with_max_concurrent_streams(streams)
        };
        let hello = request_response::Behaviour::with_codec(
            HelloCodec::new(
                limits.max_hello_bytes,
                limits.max_hello_bytes,
                Arc::clone(bad_frames),
            ),
            [(
                StreamProtocol::new(hello::PROTOCOL),
                request_response::ProtocolSupport::Full,
            )],
            request_config(8),
        );
        let xchg = request_response::Behaviour::with_codec(
            XchgCodec::new(
                limits.max_xchg_request_bytes,
                limits.max_xchg_response_bytes,
                Arc::clone(bad_frames),
            ),
            [(
                StreamProtocol::new(xchg::PROTOCOL),
                request_response::ProtocolSupport::Full,
            )],
            request_config(
                limits
                    .max_inbound_requests_per_peer
                    .max(limits.max_outbound_requests_per_peer)
                    .saturating_mul(2),
            ),
        );

        Ok(Self {
            limits: connection_limits::Behaviour::new(connection_limits),
            blocked: allow_block_list::Behaviour::default(),
            identify: identify::Behaviour::new(
                identify::Config::new(IDENTIFY_PROTOCOL_VERSION.into(), keypair.public())
                    .with_agent_version(format!("venus-rs/{}", env!("CARGO_PKG_VERSION"))),
            ),
            ping: ping::Behaviour::new(ping::Config::new()),
            gossipsub: gossip_behaviour(keypair, limits, topics)?,
            hello,
            xchg,
        })
    }
}

fn gossip_behaviour(
    keypair: &Keypair,
    limits: &Limits,
    topics: &[gossipsub::IdentTopic],
) -> anyhow::Result<gossipsub::Behaviour> {
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| {
            gossipsub::MessageId::from(crate::gossip::message_id(&m.data))
        })
        .max_transmit_size(
            limits
                .max_block_msg_bytes
                .max(limits.max_message_bytes)
                .saturating_add(GOSSIP_FRAME_OVERHEAD),
        )
        .build()
        .map_err(|e| anyhow::anyhow!("gossipsub config: {e}"))?;
    let mut behaviour = gossipsub::Behaviour::new(
        gossipsub::MessageAuthenticity::Signed(keypair.clone()),
        config,
    )
    .map_err(|e| anyhow::anyhow!("gossipsub: {e}"))?;

    // Only invalid messages cost score: a quiet devnet delivers few messages, so the mesh
    // delivery penalties would push honest peers out.
    let mut params = gossipsub::PeerScoreParams {
        ip_colocation_factor_weight: 0.0,
        ..Default::default()
    };
    for topic in topics {
        params.topics.insert(
            topic.hash(),
            gossipsub::TopicScoreParams {
                topic_weight: 1.0,
                mesh_message_deliveries_weight: 0.0,
                mesh_failure_penalty_weight: 0.0,
                invalid_message_deliveries_weight: -20.0,
                invalid_message_deliveries_decay: 0.5,
                ..Default::default()
            },
        );
    }
    behaviour
        .with_peer_score(params, gossipsub::PeerScoreThresholds::default())
        .map_err(|e| anyhow::anyhow!("gossipsub scoring: {e}"))?;
    for topic in topics {
        behaviour
            .subscribe(topic)
            .map_err(|e| anyhow::anyhow!("subscribing to {topic}: {e}"))?;
    }
    Ok(behaviour)
}
