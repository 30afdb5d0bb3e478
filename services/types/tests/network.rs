//! The address network prefix (process-global, so this file holds a single test and runs in
//! its own process).

use venus_types::{Address, Message, Network, TokenAmount};

#[test]
fn testnet_prefix_renders_t_and_parses_both() {
    assert_eq!(Network::current(), Network::Mainnet);
    Network::Testnet.set_current();
    assert_eq!(Network::current(), Network::Testnet);
    let id: Address = "f01024".parse().expect("f prefix accepted on testnet");
    assert_eq!(id.to_string(), "t01024");
    assert_eq!(Network::Mainnet.format_address(&id), "f01024");
    let msg = Message {
        version: 0,
        to: id,
        from: Address::new_id(0),
        nonce: 0,
        value: TokenAmount::zero(),
        gas_limit: 0,
        gas_fee_cap: TokenAmount::zero(),
        gas_premium: TokenAmount::zero(),
        method: 0,
        params: Default::default(),
    };
    let json = serde_json::to_value(&msg).expect("json");
    assert_eq!(json["To"], "t01024");
    assert_eq!(json["From"], "t00");
    assert_eq!(json["Params"], serde_json::Value::Null);
    let back: Message = serde_json::from_value(json).expect("t prefix parses");
    assert_eq!(back, msg);
    Network::Mainnet.set_current();
    assert_eq!(id.to_string(), "f01024");
}
