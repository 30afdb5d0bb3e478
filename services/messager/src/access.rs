//! Per-user scoping, as the original's `CheckPermissionBySigner`: an admin caller (the local
//! token, the shared admin token) sees everything; any other caller only the signers bound
//! to its venus-auth user (`GET /user/signer/exist`, `/user/signer/list`).

use std::sync::Arc;

use venus_auth_client::AuthClient;
use venus_rpc::{Ctx, Permission, RpcError};
use venus_types::Address;

#[derive(Clone)]
pub struct Access {
    auth: Option<Arc<AuthClient>>,
}

impl Access {
    pub fn new(auth: Option<Arc<AuthClient>>) -> Self {
        Self { auth }
    }

    fn is_admin(ctx: &Ctx) -> bool {
        ctx.caller().perm.grants(Permission::Admin)
    }

    /// Refuses a non-admin caller whose user is not bound to `signer`.
    pub async fn check_signer(&self, ctx: &Ctx, signer: &Address) -> Result<(), RpcError> {
        if Self::is_admin(ctx) {
            return Ok(());
        }
        let user = &ctx.caller().user;
        let Some(auth) = &self.auth else {
            return Err(RpcError::method(format!(
                "user {user} has no permission for signer {signer}: venus-auth is not configured"
            )));
        };
        match auth.signer_exists(user, &signer.to_string()).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(RpcError::method(format!(
                "user {user} has no permission for signer {signer} (bind it with venus-auth user signer add)"
            ))),
            Err(e) => Err(RpcError::method(format!(
                "checking signer {signer} with venus-auth: {e}"
            ))),
        }
    }

    /// The signers a non-admin caller may see; `None` means every one (admin).
    pub async fn visible_signers(&self, ctx: &Ctx) -> Result<Option<Vec<Address>>, RpcError> {
        if Self::is_admin(ctx) {
            return Ok(None);
        }
        let user = &ctx.caller().user;
        let Some(auth) = &self.auth else {
            return Ok(Some(Vec::new()));
        };
        let list = auth.list_signers(user).await.map_err(|e| {
            RpcError::method(format!("listing the signers of {user} in venus-auth: {e}"))
        })?;
        Ok(Some(
            list.into_iter()
                .filter_map(|s| s.signer.parse().ok())
                .collect(),
        ))
    }
}
