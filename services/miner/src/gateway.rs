//! The gateways (`[Gateway] ListenAPI`, `/rpc/v2`): ticket, election and block signatures
//! by the worker key (`Gateway.WalletSign`) and WinningPoSt (`Gateway.ComputeProof`). A call
//! goes to the first gateway that is reachable; an answer (even an error) is final.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use venus_api::gateway as api;
use venus_api::proof::ExtendedSectorInfo;
use venus_rpc::{ClientError, Method};
use venus_types::{
    Address, Base64Bytes, ChainEpoch, DrawRandomParams, MsgMeta, MsgType, PoStProof, Signature,
};

use crate::upstream::{Upstream, is_unreachable};

pub struct Gateways {
    list: Vec<Upstream>,
}

impl Gateways {
    pub fn new(addrs: &[String], token: &str, timeout: Duration) -> Self {
        Self {
            list: addrs
                .iter()
                .filter(|a| !a.trim().is_empty())
                .map(|a| Upstream::new(a, token, "v2", timeout))
                .collect(),
        }
    }

    async fn first<P, R>(&self, method: Method<P, R>, params: P) -> Result<R, ClientError>
    where
        P: Serialize + Clone,
        R: DeserializeOwned,
    {
        let mut last = ClientError::Connect {
            addr: "[Gateway] ListenAPI".into(),
            reason: "no gateway configured".into(),
        };
        for g in &self.list {
            match g.call(method, params.clone()).await {
                Err(e) if is_unreachable(&e) => {
                    tracing::debug!(gateway = g.addr(), error = %e, "gateway unreachable; trying the next");
                    last = e;
                }
                other => return other,
            }
        }
        Err(last)
    }

    /// A VRF (ticket or election proof): the worker signs the CBOR `DrawRandomParams`
    /// (`drawrandomparam`); the wallet derives the randomness itself from them.
    pub async fn sign_vrf(
        &self,
        worker: Address,
        account: &str,
        params: &DrawRandomParams,
    ) -> Result<Signature, ClientError> {
        let bytes: Base64Bytes = venus_types::to_cbor(params)
            .map_err(|e| ClientError::Encode(e.to_string()))?
            .into();
        let meta = MsgMeta {
            msg_type: MsgType::DrawRandomParam,
            extra: Vec::new().into(),
        };
        self.first(
            api::WALLET_SIGN,
            (worker, vec![account.to_owned()], bytes, meta),
        )
        .await
    }

    /// The block signature: the wallet decodes the unsigned header (`block`) and signs its
    /// signing bytes.
    pub async fn sign_block(
        &self,
        worker: Address,
        account: &str,
        header_cbor: Vec<u8>,
    ) -> Result<Signature, ClientError> {
        let bytes: Base64Bytes = header_cbor.into();
        let meta = MsgMeta {
            msg_type: MsgType::Block,
            extra: Vec::new().into(),
        };
        self.first(
            api::WALLET_SIGN,
            (worker, vec![account.to_owned()], bytes, meta),
        )
        .await
    }

    pub async fn compute_proof(
        &self,
        miner: Address,
        sectors: Vec<ExtendedSectorInfo>,
        randomness: [u8; 32],
        height: ChainEpoch,
        network_version: u32,
    ) -> Result<Vec<PoStProof>, ClientError> {
        let rand: Base64Bytes = randomness.to_vec().into();
        self.first(
            api::COMPUTE_PROOF,
            (miner, sectors, rand, height, network_version),
        )
        .await
    }
}
