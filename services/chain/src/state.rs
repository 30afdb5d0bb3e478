//! The state tree: a HAMT (bit width 5) of ID address → actor, rooted in a versioned
//! `StateRoot`, as in Filecoin. Robust addresses resolve through the init actor's map.

use std::collections::HashMap;

use cid::Cid;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_encoding::CborStore;
use fvm_ipld_encoding::de::DeserializeOwned;
use fvm_ipld_encoding::ser::Serialize;
use fvm_ipld_hamt::{BytesKey, Hamt};
use fvm_shared::ActorID;
use fvm_shared::address::{Address, Payload};
use fvm_shared::state::{ActorState, StateRoot, StateTreeVersion};
use multihash_codetable::Code;

use crate::actors::{ActorKind, INIT_ACTOR_ID, InitState};

/// Bit width of every HAMT in the state (state tree, init address map, power claims).
pub const HAMT_BIT_WIDTH: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state root {0} not found in the blockstore")]
    MissingRoot(Cid),
    #[error("actor {0} not found")]
    ActorNotFound(Address),
    #[error("actor {addr} has state of the wrong kind (expected {expected})")]
    WrongKind {
        addr: Address,
        expected: &'static str,
    },
    #[error("state store: {0}")]
    Store(String),
}

impl StateError {
    pub(crate) fn store(e: impl std::fmt::Display) -> Self {
        StateError::Store(e.to_string())
    }
}

/// Mutable view of the state over a blockstore. Changes live in the HAMT's cache until
/// `flush`, which writes them and returns the new root.
pub struct StateTree<BS: Blockstore> {
    hamt: Hamt<BS, ActorState, BytesKey>,
    /// Robust address → ID, filled on lookups and creations.
    id_cache: HashMap<Address, ActorID>,
}

impl<BS: Blockstore> StateTree<BS> {
    /// An empty tree.
    pub fn new(store: BS) -> Self {
        StateTree {
            hamt: Hamt::new_with_bit_width(store, HAMT_BIT_WIDTH),
            id_cache: HashMap::new(),
        }
    }

    /// Loads the tree rooted at a `StateRoot` CID.
    pub fn load(store: BS, root: &Cid) -> Result<Self, StateError> {
        let state_root: StateRoot = store
            .get_cbor(root)
            .map_err(StateError::store)?
            .ok_or(StateError::MissingRoot(*root))?;
        let hamt = Hamt::load_with_bit_width(&state_root.actors, store, HAMT_BIT_WIDTH)
            .map_err(StateError::store)?;
        Ok(StateTree {
            hamt,
            id_cache: HashMap::new(),
        })
    }

    pub fn store(&self) -> &BS {
        self.hamt.store()
    }

    /// Writes pending changes and returns the new `StateRoot` CID.
    pub fn flush(&mut self) -> Result<Cid, StateError> {
        let actors = self.hamt.flush().map_err(StateError::store)?;
        let info = self
            .store()
            .put_cbor(&Vec::<u8>::new(), Code::Blake2b256)
            .map_err(StateError::store)?;
        let root = StateRoot {
            version: StateTreeVersion::V5,
            actors,
            info,
        };
        self.store()
            .put_cbor(&root, Code::Blake2b256)
            .map_err(StateError::store)
    }

    /// The actor at an ID address.
    pub fn get_actor_by_id(&self, id: ActorID) -> Result<Option<ActorState>, StateError> {
        let key = BytesKey(Address::new_id(id).to_bytes());
        Ok(self.hamt.get(&key).map_err(StateError::store)?.cloned())
    }

    /// The actor at any address (robust addresses go through the init actor).
    pub fn get_actor(&mut self, addr: &Address) -> Result<Option<ActorState>, StateError> {
        match self.lookup_id(addr)? {
            Some(id) => self.get_actor_by_id(id),
            None => Ok(None),
        }
    }

    pub fn set_actor(&mut self, id: ActorID, actor: ActorState) -> Result<(), StateError> {
        let key = BytesKey(Address::new_id(id).to_bytes());
        self.hamt.set(key, actor).map_err(StateError::store)?;
        Ok(())
    }

    /// Resolves an address to its ID, or `None` if no actor has it.
    pub fn lookup_id(&mut self, addr: &Address) -> Result<Option<ActorID>, StateError> {
        if let Payload::ID(id) = addr.payload() {
            return Ok(Some(*id));
        }
        if let Some(id) = self.id_cache.get(addr) {
            return Ok(Some(*id));
        }
        let init: InitState = self.actor_state(INIT_ACTOR_ID, ActorKind::Init)?;
        let map: Hamt<&BS, ActorID, BytesKey> =
            Hamt::load_with_bit_width(&init.address_map, self.store(), HAMT_BIT_WIDTH)
                .map_err(StateError::store)?;
        let found = map
            .get(&BytesKey(addr.to_bytes()))
            .map_err(StateError::store)?
            .copied();
        if let Some(id) = found {
            self.id_cache.insert(*addr, id);
        }
        Ok(found)
    }

    /// Assigns the next ID to a robust address (the init actor's job).
    pub fn register_new_address(&mut self, addr: &Address) -> Result<ActorID, StateError> {
        let mut init: InitState = self.actor_state(INIT_ACTOR_ID, ActorKind::Init)?;
        let mut map: Hamt<&BS, ActorID, BytesKey> =
            Hamt::load_with_bit_width(&init.address_map, self.store(), HAMT_BIT_WIDTH)
                .map_err(StateError::store)?;
        let id = init.next_id;
        map.set(BytesKey(addr.to_bytes()), id)
            .map_err(StateError::store)?;
        init.address_map = map.flush().map_err(StateError::store)?;
        init.next_id += 1;
        self.put_actor_state(INIT_ACTOR_ID, &init)?;
        self.id_cache.insert(*addr, id);
        Ok(id)
    }

    /// Decodes an actor's state, checking that it has the expected kind.
    pub fn actor_state<T: DeserializeOwned>(
        &self,
        id: ActorID,
        kind: ActorKind,
    ) -> Result<T, StateError> {
        let addr = Address::new_id(id);
        let actor = self
            .get_actor_by_id(id)?
            .ok_or(StateError::ActorNotFound(addr))?;
        if actor.code != kind.code() {
            return Err(StateError::WrongKind {
                addr,
                expected: kind.name(),
            });
        }
        self.store()
            .get_cbor(&actor.state)
            .map_err(StateError::store)?
            .ok_or_else(|| {
                StateError::Store(format!("state {} of actor {addr} is missing", actor.state))
            })
    }

    /// Stores new state for an existing actor.
    pub fn put_actor_state<T: Serialize>(
        &mut self,
        id: ActorID,
        state: &T,
    ) -> Result<(), StateError> {
        let addr = Address::new_id(id);
        let mut actor = self
            .get_actor_by_id(id)?
            .ok_or(StateError::ActorNotFound(addr))?;
        actor.state = self
            .store()
            .put_cbor(state, Code::Blake2b256)
            .map_err(StateError::store)?;
        self.set_actor(id, actor)
    }

    /// Creates an actor with the given kind, state and balance.
    pub fn create_actor<T: Serialize>(
        &mut self,
        id: ActorID,
        kind: ActorKind,
        state: &T,
        balance: fvm_shared::econ::TokenAmount,
        delegated_address: Option<Address>,
    ) -> Result<(), StateError> {
        let head = self
            .store()
            .put_cbor(state, Code::Blake2b256)
            .map_err(StateError::store)?;
        self.set_actor(
            id,
            ActorState {
                code: kind.code(),
                state: head,
                sequence: 0,
                balance,
                delegated_address,
            },
        )
    }

    /// Visits every actor (ID, actor).
    pub fn for_each(
        &self,
        mut f: impl FnMut(ActorID, &ActorState) -> anyhow::Result<()>,
    ) -> Result<(), StateError> {
        self.hamt
            .for_each(|k, v| {
                let addr = Address::from_bytes(&k.0)?;
                f(addr.id()?, v)
            })
            .map_err(StateError::store)
    }
}
