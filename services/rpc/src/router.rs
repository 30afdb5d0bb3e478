//! The method table: every method's name, permission and type-erased handler.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::ctx::Ctx;
use crate::error::RpcError;
use crate::method::{Method, Subscription};
use crate::metrics::MethodMetrics;
use crate::perm::Permission;
use crate::wire;

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
pub(crate) type RawStream = Pin<Box<dyn Stream<Item = Box<RawValue>> + Send + 'static>>;
pub(crate) type CallResult = Result<Box<RawValue>, RpcError>;

/// Params are decoded before the future is made, so a bad request never starts a handler.
pub(crate) type CallFn =
    dyn Fn(Ctx, Option<&RawValue>) -> Result<BoxFuture<CallResult>, RpcError> + Send + Sync;
pub(crate) type SubscribeFn = dyn Fn(Ctx, Option<&RawValue>) -> Result<BoxFuture<Result<RawStream, RpcError>>, RpcError>
    + Send
    + Sync;

#[derive(Clone)]
pub(crate) enum Handler {
    Call(Arc<CallFn>),
    Subscribe(Arc<SubscribeFn>),
}

#[derive(Clone)]
pub(crate) struct Entry {
    pub name: &'static str,
    pub perm: Permission,
    pub handler: Handler,
    pub metrics: MethodMetrics,
}

/// The methods a server (or a client, for reverse calls) answers.
#[derive(Clone, Default)]
pub struct Router {
    methods: HashMap<&'static str, Arc<Entry>>,
}

fn encode_result<R: Serialize>(value: &R) -> CallResult {
    serde_json::value::to_raw_value(value)
        .map_err(|e| RpcError::internal(format!("encoding result: {e}")))
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register a request/response method. Panics if the name is already registered (a
    /// wiring bug caught at start-up, as axum does for duplicate routes).
    pub fn method<P, R, F, Fut>(&mut self, method: Method<P, R>, handler: F) -> &mut Self
    where
        P: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(Ctx, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, RpcError>> + Send + 'static,
    {
        let name = method.name();
        let call: Arc<CallFn> = Arc::new(move |ctx: Ctx, params: Option<&RawValue>| {
            let params: P = wire::decode_params(name, params)?;
            let fut = handler(ctx, params);
            Ok(Box::pin(async move { fut.await.and_then(|r| encode_result(&r)) }) as BoxFuture<_>)
        });
        self.insert(name, method.perm(), Handler::Call(call))
    }

    /// Register a method that returns a stream (a go-jsonrpc channel; WebSocket only).
    pub fn subscription<P, T, F, Fut, S>(
        &mut self,
        sub: Subscription<P, T>,
        handler: F,
    ) -> &mut Self
    where
        P: DeserializeOwned + Send + 'static,
        T: Serialize + Send + 'static,
        F: Fn(Ctx, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<S, RpcError>> + Send + 'static,
        S: Stream<Item = T> + Send + 'static,
    {
        let name = sub.name();
        let subscribe: Arc<SubscribeFn> = Arc::new(move |ctx: Ctx, params: Option<&RawValue>| {
            let params: P = wire::decode_params(name, params)?;
            let fut = handler(ctx, params);
            Ok(Box::pin(async move {
                let stream = fut.await?;
                let raw = stream.filter_map(move |item| {
                    let encoded = serde_json::value::to_raw_value(&item);
                    if let Err(e) = &encoded {
                        tracing::warn!(method = name, error = %e, "dropping a channel value that does not encode");
                    }
                    futures::future::ready(encoded.ok())
                });
                Ok(Box::pin(raw) as RawStream)
            }) as BoxFuture<_>)
        });
        self.insert(name, sub.perm(), Handler::Subscribe(subscribe))
    }

    /// Register a method on raw JSON: the handler gets the params array as sent (`[]` when
    /// absent) and returns the raw result. For proxies and forwarding.
    pub fn raw<F, Fut>(&mut self, name: &'static str, perm: Permission, handler: F) -> &mut Self
    where
        F: Fn(Ctx, Box<RawValue>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Box<RawValue>, RpcError>> + Send + 'static,
    {
        let call: Arc<CallFn> = Arc::new(move |ctx: Ctx, params: Option<&RawValue>| {
            let params = match params {
                Some(p) => p.to_owned(),
                None => RawValue::from_string("[]".to_owned()).map_err(RpcError::internal)?,
            };
            Ok(Box::pin(handler(ctx, params)) as BoxFuture<_>)
        });
        self.insert(name, perm, Handler::Call(call))
    }

    /// Add every method of `other`; panics on a name registered in both.
    pub fn merge(&mut self, other: Router) -> &mut Self {
        for (name, entry) in other.methods {
            assert!(
                self.methods.insert(name, entry).is_none(),
                "RPC method {name} registered twice"
            );
        }
        self
    }

    pub fn contains(&self, name: &str) -> bool {
        self.methods.contains_key(name)
    }

    /// The permission a method needs, from the table.
    pub fn permission(&self, name: &str) -> Option<Permission> {
        self.methods.get(name).map(|e| e.perm)
    }

    /// Every registered method name.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.methods.keys().copied()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Arc<Entry>> {
        self.methods.get(name)
    }

    pub(crate) fn entries_mut(&mut self) -> impl Iterator<Item = &mut Arc<Entry>> {
        self.methods.values_mut()
    }

    fn insert(&mut self, name: &'static str, perm: Permission, handler: Handler) -> &mut Self {
        let entry = Entry {
            name,
            perm,
            handler,
            metrics: MethodMetrics::default(),
        };
        assert!(
            self.methods.insert(name, Arc::new(entry)).is_none(),
            "RPC method {name} registered twice"
        );
        self
    }
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.methods.iter().map(|(n, e)| (*n, e.perm)).collect();
        names.sort();
        f.debug_struct("Router").field("methods", &names).finish()
    }
}
