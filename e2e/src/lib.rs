//! Harness for end-to-end tests against a real Kubernetes control plane.
//!
//! The cluster is etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok, built
//! from the Go module proxy by `e2e/cluster/build-tools.sh` and started on 127.0.0.1 by
//! `e2e/cluster/cluster.sh` (kwokctl `--runtime binary`). Pods are simulated by kwok, so the
//! operator under test runs as a host process against the cluster (see [`operator`]).

pub mod binaries;
pub mod cluster;
pub mod command;
pub mod fixture;
pub mod monitoring;
pub mod objects;
pub mod operator;
pub mod pods;
pub mod recorder;
pub mod stack;
pub mod tools;
pub mod wait;

pub use cluster::Cluster;
pub use tools::Tools;
