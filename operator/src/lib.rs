//! Kubernetes operator for the ChainService custom resource
