//! `P2pService`: builds the swarm and runs it in one task that owns all network state; handles
//! talk to it through commands, the node hears it through events.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use futures::StreamExt;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, gossipsub, multiaddr::Protocol};
use tokio::sync::{mpsc, oneshot};

use crate::behaviour::{Behaviour, BehaviourEvent};
use crate::config::P2pConfig;
use crate::error::P2pError;
use crate::gossip;
use crate::handle::{Command, NetEvent, NetStats, P2pHandle, PeerInfo};
use crate::hello::{HelloMessage, LatencyMessage};
use crate::xchg;

/// What the node serves to peers, from its chain store. Called from the service's task
/// (`hello`) and from blocking threads (`chain_exchange`).
pub trait ChainProvider: Send + Sync + 'static {
    /// The hello to send a new peer: our heaviest tipset, its height and weight, our genesis.
    /// Called on every new peer, so it should be cheap (no I/O beyond reading the head).
    fn hello(&self) -> HelloMessage;

    /// Answers a chain-exchange request that passed Lotus's checks ([`xchg::Request::validate`]):
    /// up to `length` tipsets from `head` back, with headers and/or messages as asked. Use
    /// [`xchg::Response::chain`] (sets `Ok`/`Partial`) or [`xchg::Response::error`]
    /// (`NotFound` for an unknown head, `InternalError` on a store failure).
    fn chain_exchange(&self, request: &xchg::Request) -> xchg::Response;
}

/// The gossip topics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Topic {
    Blocks,
    Messages,
}

/// How often bootstrap peers are re-dialled and bans expire.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(10);
/// How long start-up waits for its listeners.
const LISTEN_DEADLINE: Duration = Duration::from_secs(10);
/// Commands queued from handles.
const COMMAND_QUEUE: usize = 256;
/// Idle connections (no gossip subscription, no request) close after this.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(120);

/// The networking service. [`P2pService::start`] runs it.
pub struct P2pService;

impl P2pService {
    /// Builds the swarm, listens on `config.listen` (waiting until each listener has its
    /// address), subscribes to the network's topics, dials the bootstrap peers and spawns the
    /// service's task on the current tokio runtime. Returns the handle and the event stream.
    pub async fn start(
        config: P2pConfig,
        provider: Arc<dyn ChainProvider>,
    ) -> anyhow::Result<(P2pHandle, mpsc::Receiver<NetEvent>)> {
        let blocks_topic = gossipsub::IdentTopic::new(gossip::blocks_topic(&config.network_name));
        let msgs_topic = gossipsub::IdentTopic::new(gossip::msgs_topic(&config.network_name));
        let bad_frames = Arc::new(AtomicU64::new(0));
        let behaviour = Behaviour::new(
            &config.keypair,
            &config.limits,
            &[blocks_topic.clone(), msgs_topic.clone()],
            &bad_frames,
        )?;
        let max_streams = config.limits.max_streams_per_connection.max(1);
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair.clone())
            .with_tokio()
            .with_tcp(
                libp2p::tcp::Config::default().nodelay(true),
                libp2p::noise::Config::new,
                || {
                    let mut yamux = libp2p::yamux::Config::default();
                    yamux.set_max_num_streams(max_streams);
                    yamux
                },
            )
            .context("building the TCP transport")?
            .with_dns()
            .context("building the DNS resolver")?
            .with_behaviour(|_| behaviour)
            .context("building the behaviours")?
            .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
            .build();

        listen(&mut swarm, &config.listen).await?;

        let (events_tx, events_rx) = mpsc::channel(config.limits.event_buffer.max(1));
        let (commands_tx, commands_rx) = mpsc::channel(COMMAND_QUEUE);
        let (served_tx, served_rx) = mpsc::unbounded_channel();
        let peer_id = *swarm.local_peer_id();
        let mut task = Task {
            swarm,
            provider,
            blocks_topic: blocks_topic.hash(),
            msgs_topic: msgs_topic.hash(),
            config,
            events: events_tx,
            stats: NetStats::default(),
            bad_frames,
            commands: commands_rx,
            served_tx,
            served_rx,
            dials: HashMap::new(),
            requests: HashMap::new(),
            outbound_per_peer: HashMap::new(),
            inbound_per_peer: HashMap::new(),
            inbound_total: 0,
            connected: HashMap::new(),
            connected_count: Arc::default(),
            protected: HashSet::new(),
            banned: HashMap::new(),
        };
        let connected_count = task.connected_count.clone();
        task.dial_bootstrap();
        tokio::spawn(task.run());
        tracing::info!(%peer_id, "p2p service started");
        Ok((
            P2pHandle {
                peer_id,
                commands: commands_tx,
                connected: connected_count,
            },
            events_rx,
        ))
    }
}

async fn listen(swarm: &mut Swarm<Behaviour>, addrs: &[Multiaddr]) -> anyhow::Result<()> {
    let mut waiting = HashMap::new();
    for addr in addrs {
        let id = swarm
            .listen_on(addr.clone())
            .with_context(|| format!("listening on {addr}"))?;
        waiting.insert(id, addr.clone());
    }
    let deadline = tokio::time::Instant::now() + LISTEN_DEADLINE;
    while !waiting.is_empty() {
        let event = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .map_err(|_| {
                let addrs: Vec<String> = waiting.values().map(ToString::to_string).collect();
                anyhow::anyhow!("no listen address after {LISTEN_DEADLINE:?} on {addrs:?}")
            })?;
        match event {
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                tracing::info!(%address, "p2p listening");
                waiting.remove(&listener_id);
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                let addr = waiting.remove(&listener_id);
                anyhow::bail!("listener on {addr:?} closed: {reason:?}");
            }
            SwarmEvent::ListenerError { listener_id, error } => {
                let addr = waiting.remove(&listener_id);
                anyhow::bail!("listener on {addr:?}: {error}");
            }
            _ => {}
        }
    }
    Ok(())
}

/// A chain-exchange answer computed on a blocking thread, on its way back to the task.
struct Served {
    peer: PeerId,
    channel: ResponseChannel<xchg::Response>,
    response: xchg::Response,
}

/// All network state, owned by the one task.
struct Task {
    swarm: Swarm<Behaviour>,
    provider: Arc<dyn ChainProvider>,
    config: P2pConfig,
    blocks_topic: gossipsub::TopicHash,
    msgs_topic: gossipsub::TopicHash,
    events: mpsc::Sender<NetEvent>,
    stats: NetStats,
    /// Hello and chain-exchange frames the codec could not read (shared with it).
    bad_frames: Arc<AtomicU64>,
    commands: mpsc::Receiver<Command>,
    // Unbounded, but at most `max_inbound_requests_total` answers are ever in flight.
    served_tx: mpsc::UnboundedSender<Served>,
    served_rx: mpsc::UnboundedReceiver<Served>,
    dials: HashMap<ConnectionId, (Multiaddr, oneshot::Sender<Result<PeerId, P2pError>>)>,
    requests:
        HashMap<OutboundRequestId, (PeerId, oneshot::Sender<Result<xchg::Response, P2pError>>)>,
    outbound_per_peer: HashMap<PeerId, usize>,
    inbound_per_peer: HashMap<PeerId, usize>,
    inbound_total: usize,
    /// Accepted peers and their connections' remote addresses.
    connected: HashMap<PeerId, HashMap<ConnectionId, Multiaddr>>,
    /// `connected.len()`, readable from handles without asking the task.
    connected_count: Arc<AtomicUsize>,
    protected: HashSet<PeerId>,
    /// Peers reported bad, until when.
    banned: HashMap<PeerId, Instant>,
}

impl Task {
    async fn run(mut self) {
        let mut maintenance = tokio::time::interval(MAINTENANCE_INTERVAL);
        maintenance.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => break,
                },
                Some(served) = self.served_rx.recv() => self.on_served(served),
                _ = maintenance.tick() => self.maintain(),
            }
        }
        tracing::info!("p2p service stopped (no handle left)");
    }

    fn emit(&mut self, event: NetEvent) {
        match self.events.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.stats.events_dropped += 1;
                if self.stats.events_dropped.is_power_of_two() {
                    tracing::warn!(
                        dropped = self.stats.events_dropped,
                        "p2p events dropped: the node is not keeping up"
                    );
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    // ---- swarm events ----

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => self.on_connected(peer_id, connection_id, endpoint),
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                if let Some(conns) = self.connected.get_mut(&peer_id) {
                    conns.remove(&connection_id);
                    if num_established == 0 {
                        self.connected.remove(&peer_id);
                        self.connected_count
                            .store(self.connected.len(), Ordering::Relaxed);
                        self.emit(NetEvent::PeerDisconnected(peer_id));
                    }
                }
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                ..
            } => {
                if let Some((addr, reply)) = self.dials.remove(&connection_id) {
                    let _ = reply.send(Err(P2pError::Dial {
                        addr: addr.to_string(),
                        reason: error.to_string(),
                    }));
                }
            }
            SwarmEvent::IncomingConnectionError { error, .. } => {
                tracing::debug!(%error, "incoming connection failed");
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "p2p listening");
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            _ => {}
        }
    }

    fn on_connected(
        &mut self,
        peer: PeerId,
        connection: ConnectionId,
        endpoint: libp2p::core::ConnectedPoint,
    ) {
        let addr = endpoint.get_remote_address().clone();
        if let Some((_, reply)) = self.dials.remove(&connection) {
            let _ = reply.send(Ok(peer));
        }
        let first = !self.connected.contains_key(&peer);
        if first
            && endpoint.is_listener()
            && self.connected.len() >= self.config.limits.max_peers
            && !self.protected.contains(&peer)
        {
            tracing::debug!(%peer, "over the peer cap: dropping a new inbound peer");
            let _ = self.swarm.disconnect_peer_id(peer);
            return;
        }
        self.connected
            .entry(peer)
            .or_default()
            .insert(connection, addr);
        self.connected_count
            .store(self.connected.len(), Ordering::Relaxed);
        if first {
            self.emit(NetEvent::PeerConnected(peer));
            let hello = self.provider.hello();
            self.swarm.behaviour_mut().hello.send_request(&peer, hello);
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Hello(event) => self.on_hello_event(event),
            BehaviourEvent::Xchg(event) => self.on_xchg_event(event),
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => self.on_gossip(propagation_source, message_id, message),
            BehaviourEvent::Identify(libp2p::identify::Event::Received {
                peer_id, info, ..
            }) => {
                tracing::debug!(peer = %peer_id, agent = %info.agent_version, "identified");
            }
            _ => {}
        }
    }

    fn on_hello_event(&mut self, event: request_response::Event<HelloMessage, LatencyMessage>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let arrival = unix_nanos();
                if request.genesis_hash != self.config.genesis {
                    self.stats.wrong_genesis += 1;
                    tracing::warn!(
                        %peer,
                        theirs = %request.genesis_hash,
                        ours = %self.config.genesis,
                        "peer has a different genesis: disconnecting"
                    );
                    let _ = self.swarm.disconnect_peer_id(peer);
                    return;
                }
                let latency = LatencyMessage {
                    t_arrival: arrival,
                    t_sent: unix_nanos(),
                };
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .hello
                    .send_response(channel, latency);
                self.emit(NetEvent::Hello { peer, msg: request });
            }
            request_response::Event::Message {
                peer,
                message: request_response::Message::Response { response, .. },
                ..
            } => {
                // Peers' clocks differ; only the time the peer held our hello is meaningful.
                let held_us = (response.t_sent - response.t_arrival) / 1_000;
                tracing::debug!(%peer, held_us, "hello answered");
            }
            request_response::Event::OutboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "hello not answered");
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                self.stats.inbound_failures += 1;
                tracing::debug!(%peer, %error, "bad inbound hello");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn on_xchg_event(&mut self, event: request_response::Event<xchg::Request, xchg::Response>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => self.serve_xchg(peer, request, channel),
            request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some((peer, reply)) = self.take_request(request_id) {
                    tracing::debug!(%peer, status = %response.status, tipsets = response.chain.len(), "chain exchange answered");
                    let _ = reply.send(Ok(response));
                }
            }
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some((peer, reply)) = self.take_request(request_id) {
                    let _ = reply.send(Err(P2pError::Request {
                        peer: peer.to_string(),
                        reason: error.to_string(),
                    }));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                self.stats.inbound_failures += 1;
                tracing::debug!(%peer, %error, "bad inbound chain exchange request");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn take_request(
        &mut self,
        id: OutboundRequestId,
    ) -> Option<(PeerId, oneshot::Sender<Result<xchg::Response, P2pError>>)> {
        let (peer, reply) = self.requests.remove(&id)?;
        decrement(&mut self.outbound_per_peer, &peer);
        Some((peer, reply))
    }

    fn serve_xchg(
        &mut self,
        peer: PeerId,
        request: xchg::Request,
        channel: ResponseChannel<xchg::Response>,
    ) {
        let limits = &self.config.limits;
        let per_peer = self.inbound_per_peer.get(&peer).copied().unwrap_or(0);
        let refusal = if let Err(bad) = request.validate() {
            Some(bad)
        } else if per_peer >= limits.max_inbound_requests_per_peer
            || self.inbound_total >= limits.max_inbound_requests_total
        {
            Some(xchg::Response::error(
                xchg::Status::GO_AWAY,
                "too many requests in flight",
            ))
        } else {
            None
        };
        if let Some(response) = refusal {
            self.stats.xchg_refused += 1;
            let _ = self
                .swarm
                .behaviour_mut()
                .xchg
                .send_response(channel, response);
            return;
        }
        *self.inbound_per_peer.entry(peer).or_default() += 1;
        self.inbound_total += 1;
        let provider = Arc::clone(&self.provider);
        let max_bytes = limits.max_xchg_response_bytes;
        let served = self.served_tx.clone();
        tokio::spawn(async move {
            let length = request.length;
            let answer =
                tokio::task::spawn_blocking(move || provider.chain_exchange(&request)).await;
            let response = match answer {
                Ok(mut response) => {
                    response
                        .chain
                        .truncate(usize::try_from(length).unwrap_or(usize::MAX));
                    fit_response(response, max_bytes)
                }
                Err(e) => {
                    tracing::error!(error = %e, "chain exchange provider failed");
                    xchg::Response::error(xchg::Status::INTERNAL_ERROR, "internal error")
                }
            };
            let _ = served.send(Served {
                peer,
                channel,
                response,
            });
        });
    }

    fn on_served(&mut self, served: Served) {
        self.stats.xchg_served += 1;
        decrement(&mut self.inbound_per_peer, &served.peer);
        self.inbound_total = self.inbound_total.saturating_sub(1);
        let _ = self
            .swarm
            .behaviour_mut()
            .xchg
            .send_response(served.channel, served.response);
    }

    fn on_gossip(&mut self, source: PeerId, id: gossipsub::MessageId, message: gossipsub::Message) {
        let limits = &self.config.limits;
        let decoded = if message.topic == self.blocks_topic {
            gossip::decode_block(&message.data, limits.max_block_msg_bytes)
                .map(|msg| NetEvent::Block { from: source, msg })
        } else if message.topic == self.msgs_topic {
            gossip::decode_message(&message.data, limits.max_message_bytes)
                .map(|msg| NetEvent::Message { from: source, msg })
        } else {
            Err(format!("unknown topic {}", message.topic))
        };
        let acceptance = match &decoded {
            Ok(_) => {
                self.stats.gossip_accepted += 1;
                gossipsub::MessageAcceptance::Accept
            }
            Err(reason) => {
                self.stats.gossip_rejected += 1;
                tracing::debug!(peer = %source, %reason, "rejected gossip");
                gossipsub::MessageAcceptance::Reject
            }
        };
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&id, &source, acceptance);
        if let Ok(event) = decoded {
            self.emit(event);
        }
    }

    // ---- commands ----

    fn on_command(&mut self, command: Command) {
        match command {
            Command::ListenAddrs(reply) => {
                let _ = reply.send(self.swarm.listeners().cloned().collect());
            }
            Command::Stats(reply) => {
                let stats = NetStats {
                    peers: self.connected.len() as u64,
                    banned_peers: self.banned.len() as u64,
                    inbound_failures: self.stats.inbound_failures
                        + self.bad_frames.load(Ordering::Relaxed),
                    ..self.stats
                };
                let _ = reply.send(stats);
            }
            Command::Peers(reply) => {
                let peers = self
                    .connected
                    .iter()
                    .map(|(id, conns)| PeerInfo {
                        id: *id,
                        addrs: conns.values().cloned().collect(),
                    })
                    .collect();
                let _ = reply.send(peers);
            }
            Command::GossipPeers(reply) => {
                let topic = self.blocks_topic.clone();
                let peers = self
                    .swarm
                    .behaviour()
                    .gossipsub
                    .all_peers()
                    .filter(|(_, topics)| topics.contains(&&topic))
                    .map(|(peer, _)| *peer)
                    .collect();
                let _ = reply.send(peers);
            }
            Command::Connect(addr, reply) => self.connect(addr, reply),
            Command::Publish { topic, data, reply } => {
                let _ = reply.send(self.publish(topic, data));
            }
            Command::ChainExchange {
                peer,
                request,
                reply,
            } => {
                let pending = self.outbound_per_peer.get(&peer).copied().unwrap_or(0);
                if pending >= self.config.limits.max_outbound_requests_per_peer {
                    let _ = reply.send(Err(P2pError::TooManyRequests(peer.to_string())));
                    return;
                }
                let id = self.swarm.behaviour_mut().xchg.send_request(&peer, request);
                *self.outbound_per_peer.entry(peer).or_default() += 1;
                self.requests.insert(id, (peer, reply));
            }
            Command::ProtectAdd(peers, reply) => {
                self.protected.extend(peers);
                let _ = reply.send(());
            }
            Command::ProtectRemove(peers, reply) => {
                for peer in &peers {
                    self.protected.remove(peer);
                }
                let _ = reply.send(());
            }
            Command::ProtectList(reply) => {
                let _ = reply.send(self.protected.iter().copied().collect());
            }
            Command::ReportBadPeer(peer, reason, reply) => {
                self.ban(peer, &reason);
                let _ = reply.send(());
            }
        }
    }

    fn connect(&mut self, addr: Multiaddr, reply: oneshot::Sender<Result<PeerId, P2pError>>) {
        if let Some(peer) = peer_of(&addr)
            && self.connected.contains_key(&peer)
        {
            let _ = reply.send(Ok(peer));
            return;
        }
        // With the address's `/p2p/` id the swarm checks the remote is that peer.
        let opts = match peer_of(&addr) {
            Some(peer) => DialOpts::peer_id(peer)
                .addresses(vec![addr.clone()])
                .condition(PeerCondition::Always)
                .build(),
            None => DialOpts::unknown_peer_id().address(addr.clone()).build(),
        };
        let id = opts.connection_id();
        match self.swarm.dial(opts) {
            Ok(()) => {
                self.dials.insert(id, (addr, reply));
            }
            Err(e) => {
                let _ = reply.send(Err(P2pError::Dial {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                }));
            }
        }
    }

    fn publish(&mut self, topic: Topic, data: Vec<u8>) -> Result<(), P2pError> {
        let hash = match topic {
            Topic::Blocks => self.blocks_topic.clone(),
            Topic::Messages => self.msgs_topic.clone(),
        };
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(hash.clone(), data)
        {
            Ok(_)
            | Err(gossipsub::PublishError::Duplicate)
            | Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => Ok(()),
            Err(e) => Err(P2pError::Publish {
                topic: hash.to_string(),
                reason: e.to_string(),
            }),
        }
    }

    fn ban(&mut self, peer: PeerId, reason: &str) {
        tracing::warn!(%peer, %reason, "peer reported bad: disconnecting and refusing it");
        let until = Instant::now() + self.config.limits.ban_duration;
        self.banned.insert(peer, until);
        let behaviour = self.swarm.behaviour_mut();
        behaviour.gossipsub.blacklist_peer(&peer);
        behaviour.blocked.block_peer(peer);
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    // ---- maintenance ----

    fn maintain(&mut self) {
        let now = Instant::now();
        let expired: Vec<PeerId> = self
            .banned
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(peer, _)| *peer)
            .collect();
        for peer in expired {
            self.banned.remove(&peer);
            let behaviour = self.swarm.behaviour_mut();
            behaviour.blocked.unblock_peer(peer);
            behaviour.gossipsub.remove_blacklisted_peer(&peer);
            tracing::info!(%peer, "ban expired");
        }
        self.dial_bootstrap();
    }

    /// Dials the bootstrap peers we are not connected to (those without a `/p2p/` id only
    /// while we have no peer at all).
    fn dial_bootstrap(&mut self) {
        let addrs = self.config.bootstrap.clone();
        for addr in addrs {
            let opts = match peer_of(&addr) {
                Some(peer) if self.connected.contains_key(&peer) => continue,
                Some(peer) if self.banned.contains_key(&peer) => continue,
                Some(peer) if peer == *self.swarm.local_peer_id() => continue,
                Some(peer) => DialOpts::peer_id(peer)
                    .addresses(vec![addr.clone()])
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build(),
                None if self.connected.is_empty() => {
                    DialOpts::unknown_peer_id().address(addr.clone()).build()
                }
                None => continue,
            };
            if let Err(error) = self.swarm.dial(opts) {
                tracing::debug!(%addr, %error, "bootstrap dial not started");
            }
        }
    }
}

fn decrement(counts: &mut HashMap<PeerId, usize>, peer: &PeerId) {
    if let Some(n) = counts.get_mut(peer) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            counts.remove(peer);
        }
    }
}

fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

fn unix_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Cuts a response until its encoding fits `max_bytes` (halving the chain, marked `Partial`),
/// so a peer never gets a frame it would refuse.
fn fit_response(mut response: xchg::Response, max_bytes: usize) -> xchg::Response {
    loop {
        match venus_types::to_cbor(&response) {
            Ok(bytes) if bytes.len() <= max_bytes => return response,
            Ok(bytes) if response.chain.len() > 1 => {
                tracing::debug!(
                    bytes = bytes.len(),
                    max_bytes,
                    "chain exchange answer cut to fit"
                );
                let keep = response.chain.len() / 2;
                response.chain.truncate(keep);
                response.status = xchg::Status::PARTIAL;
            }
            Ok(_) => {
                return xchg::Response::error(
                    xchg::Status::INTERNAL_ERROR,
                    "one tipset is over the response size cap",
                );
            }
            Err(e) => {
                return xchg::Response::error(xchg::Status::INTERNAL_ERROR, e.to_string());
            }
        }
    }
}
