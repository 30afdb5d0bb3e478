-- venus-messager schema (sophon-messager's tables and columns). Addresses are stored as
-- their bytes (the protocol byte + payload), never as a network-prefixed string.
-- Times are unix microseconds.
CREATE TABLE IF NOT EXISTS messages (
    id VARCHAR(256) PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    from_addr BLOB NOT NULL,
    nonce BIGINT NOT NULL DEFAULT 0,
    `to` VARCHAR(256) NOT NULL,
    value VARCHAR(256) NOT NULL DEFAULT '0',
    gas_limit BIGINT NOT NULL DEFAULT 0,
    gas_fee_cap VARCHAR(256) NOT NULL DEFAULT '0',
    gas_premium VARCHAR(256) NOT NULL DEFAULT '0',
    method BIGINT NOT NULL DEFAULT 0,
    params BLOB,
    signed_data BLOB,
    unsigned_cid VARCHAR(256),
    signed_cid VARCHAR(256),
    height BIGINT NOT NULL DEFAULT 0,
    receipt_exit_code BIGINT NOT NULL DEFAULT -1,
    receipt_return_value BLOB,
    receipt_gas_used BIGINT NOT NULL DEFAULT 0,
    tipset_key VARCHAR(2048) NOT NULL DEFAULT '',
    meta_expire_epoch BIGINT NOT NULL DEFAULT 0,
    meta_gas_over_estimation DOUBLE NOT NULL DEFAULT 0,
    meta_max_fee VARCHAR(256) NOT NULL DEFAULT '0',
    meta_gas_over_premium DOUBLE NOT NULL DEFAULT 0,
    wallet_name VARCHAR(256) NOT NULL DEFAULT '',
    state BIGINT NOT NULL,
    is_deleted BIGINT NOT NULL DEFAULT -1,
    error_msg VARCHAR(2048) NOT NULL DEFAULT '',
    fill_epoch BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_messages_from_nonce ON messages (from_addr, nonce);
CREATE INDEX IF NOT EXISTS idx_messages_from_state_created ON messages (from_addr, state, created_at);
CREATE INDEX IF NOT EXISTS idx_messages_unsigned_cid ON messages (unsigned_cid);
CREATE INDEX IF NOT EXISTS idx_messages_signed_cid ON messages (signed_cid);
CREATE INDEX IF NOT EXISTS idx_messages_height ON messages (height);
CREATE INDEX IF NOT EXISTS idx_messages_state ON messages (state);
CREATE INDEX IF NOT EXISTS idx_messages_created_at ON messages (created_at);
CREATE INDEX IF NOT EXISTS idx_messages_updated_at ON messages (updated_at);

CREATE TABLE IF NOT EXISTS addresses (
    id VARCHAR(256) PRIMARY KEY NOT NULL,
    addr BLOB NOT NULL UNIQUE,
    nonce BIGINT NOT NULL DEFAULT 0,
    weight BIGINT NOT NULL DEFAULT 0,
    state BIGINT NOT NULL DEFAULT 1,
    sel_msg_num BIGINT NOT NULL DEFAULT 0,
    gas_over_estimation DOUBLE NOT NULL DEFAULT 0,
    max_fee VARCHAR(256) NOT NULL DEFAULT '0',
    gas_fee_cap VARCHAR(256) NOT NULL DEFAULT '0',
    gas_over_premium DOUBLE NOT NULL DEFAULT 0,
    base_fee VARCHAR(256) NOT NULL DEFAULT '0',
    is_deleted BIGINT NOT NULL DEFAULT -1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS shared_params (
    id SMALLINT PRIMARY KEY NOT NULL,
    sel_msg_num BIGINT NOT NULL DEFAULT 20,
    gas_over_estimation DOUBLE NOT NULL DEFAULT 1.25,
    max_fee VARCHAR(256) NOT NULL DEFAULT '70000000000000000',
    gas_fee_cap VARCHAR(256) NOT NULL DEFAULT '0',
    gas_over_premium DOUBLE NOT NULL DEFAULT 0,
    base_fee VARCHAR(256) NOT NULL DEFAULT '0'
);

CREATE TABLE IF NOT EXISTS nodes (
    id VARCHAR(256) PRIMARY KEY NOT NULL,
    name VARCHAR(256) NOT NULL UNIQUE,
    url VARCHAR(256) NOT NULL,
    token VARCHAR(512) NOT NULL DEFAULT '',
    node_type BIGINT NOT NULL DEFAULT 1,
    is_deleted BIGINT NOT NULL DEFAULT -1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
