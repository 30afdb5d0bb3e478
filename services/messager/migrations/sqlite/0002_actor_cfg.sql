-- Fee spec per (actor code, method): the original's actor_cfg table.
CREATE TABLE IF NOT EXISTS actor_cfg (
    id VARCHAR(256) PRIMARY KEY NOT NULL,
    actor_v BIGINT NOT NULL DEFAULT 0,
    code VARCHAR(256) NOT NULL,
    method BIGINT NOT NULL,
    gas_over_estimation DOUBLE NOT NULL DEFAULT 0,
    max_fee VARCHAR(256) NOT NULL DEFAULT '0',
    gas_fee_cap VARCHAR(256) NOT NULL DEFAULT '0',
    gas_over_premium DOUBLE NOT NULL DEFAULT 0,
    base_fee VARCHAR(256) NOT NULL DEFAULT '0',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_code_method ON actor_cfg (code, method);
