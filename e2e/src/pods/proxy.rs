//! Services as local ports (what kube-proxy does): one listener on 127.0.0.1 per Service a
//! process names, forwarding each connection to a ready endpoint of the Service's
//! EndpointSlices at connect time — so a `-rw` Service reaches whichever pod is primary now.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::Store;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Pod name → the local port its process listens on (stable across the pod's recreations).
pub type PodPorts = Arc<Mutex<BTreeMap<String, u16>>>;

pub struct ServiceProxies {
    slices: Store<EndpointSlice>,
    pod_ports: PodPorts,
    listeners: Mutex<BTreeMap<String, (u16, JoinHandle<()>)>>,
}

impl ServiceProxies {
    pub fn new(slices: Store<EndpointSlice>, pod_ports: PodPorts) -> Self {
        Self {
            slices,
            pod_ports,
            listeners: Mutex::new(BTreeMap::new()),
        }
    }

    /// The local port of `service`, listening from now on.
    pub fn port(&self, service: &str) -> anyhow::Result<u16> {
        let mut listeners = self
            .listeners
            .lock()
            .map_err(|_| anyhow::anyhow!("proxy table poisoned"))?;
        if let Some((port, _)) = listeners.get(service) {
            return Ok(*port);
        }
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let port = std_listener.local_addr()?.port();
        let listener = TcpListener::from_std(std_listener)?;
        let route = Route {
            service: service.to_owned(),
            slices: self.slices.clone(),
            pod_ports: Arc::clone(&self.pod_ports),
            next: Arc::new(AtomicUsize::new(0)),
        };
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let route = route.clone();
                tokio::spawn(async move {
                    if let Some(port) = route.pick() {
                        forward(inbound, port).await;
                    }
                    // No ready endpoint: the connection closes, as a refused one would.
                });
            }
        });
        listeners.insert(service.to_owned(), (port, task));
        Ok(port)
    }
}

impl Drop for ServiceProxies {
    fn drop(&mut self) {
        if let Ok(listeners) = self.listeners.lock() {
            for (_, task) in listeners.values() {
                task.abort();
            }
        }
    }
}

#[derive(Clone)]
struct Route {
    service: String,
    slices: Store<EndpointSlice>,
    pod_ports: PodPorts,
    next: Arc<AtomicUsize>,
}

impl Route {
    /// Round robin over the ready endpoints whose pods have a process port.
    fn pick(&self) -> Option<u16> {
        let ports = self.pod_ports.lock().ok()?;
        let mut ready: Vec<u16> = self
            .slices
            .state()
            .iter()
            .filter(|s| {
                s.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("kubernetes.io/service-name"))
                    == Some(&self.service)
            })
            .flat_map(|s| s.endpoints.iter())
            .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
            .filter_map(|e| e.target_ref.as_ref()?.name.as_ref())
            .filter_map(|pod| ports.get(pod).copied())
            .collect();
        ready.sort_unstable();
        ready.dedup();
        if ready.is_empty() {
            return None;
        }
        Some(ready[self.next.fetch_add(1, Ordering::Relaxed) % ready.len()])
    }
}

async fn forward(mut inbound: TcpStream, port: u16) {
    if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", port)).await {
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
    }
}
