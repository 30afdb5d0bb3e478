//! Typed method declarations: one constant per API method gives both the server route and
//! the client call.

use std::fmt;
use std::marker::PhantomData;

use crate::perm::Permission;

/// A request/response method: params `P` (a tuple, sent as a positional JSON array) and
/// result `R`.
pub struct Method<P, R> {
    name: &'static str,
    perm: Permission,
    _types: PhantomData<fn(P) -> R>,
}

impl<P, R> Method<P, R> {
    pub const fn new(name: &'static str, perm: Permission) -> Self {
        Self {
            name,
            perm,
            _types: PhantomData,
        }
    }

    /// The full wire name, `Namespace.Method`.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    pub const fn perm(&self) -> Permission {
        self.perm
    }
}

/// A method whose result is a stream of `T` (go-jsonrpc's channel results), WebSocket only.
pub struct Subscription<P, T> {
    name: &'static str,
    perm: Permission,
    _types: PhantomData<fn(P) -> T>,
}

impl<P, T> Subscription<P, T> {
    pub const fn new(name: &'static str, perm: Permission) -> Self {
        Self {
            name,
            perm,
            _types: PhantomData,
        }
    }

    pub const fn name(&self) -> &'static str {
        self.name
    }

    pub const fn perm(&self) -> Permission {
        self.perm
    }
}

// Manual impls: derives would demand `P: Clone` etc. for a type that only names them.
macro_rules! marker_impls {
    ($t:ident) => {
        impl<P, R> Clone for $t<P, R> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<P, R> Copy for $t<P, R> {}
        impl<P, R> fmt::Debug for $t<P, R> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("name", &self.name)
                    .field("perm", &self.perm)
                    .finish()
            }
        }
    };
}
marker_impls!(Method);
marker_impls!(Subscription);
