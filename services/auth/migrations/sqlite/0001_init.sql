-- venus-auth schema (SQLite). Times are unix seconds.
CREATE TABLE IF NOT EXISTS tokens (
    token       TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    perm        TEXT    NOT NULL,
    -- hex HMAC key of this token; empty = the server secret (<repo>/secret)
    secret      TEXT    NOT NULL DEFAULT '',
    extra       TEXT    NOT NULL DEFAULT '',
    create_time INTEGER NOT NULL,
    is_deleted  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tokens_name_idx ON tokens (name);

CREATE TABLE IF NOT EXISTS users (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    comment     TEXT    NOT NULL DEFAULT '',
    state       INTEGER NOT NULL DEFAULT 1,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    is_deleted  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS miners (
    miner       TEXT    NOT NULL PRIMARY KEY,
    owner       TEXT    NOT NULL,
    open_mining INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS miners_owner_idx ON miners (owner);

CREATE TABLE IF NOT EXISTS signers (
    signer      TEXT    NOT NULL,
    owner       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (owner, signer)
);
CREATE INDEX IF NOT EXISTS signers_signer_idx ON signers (signer);

CREATE TABLE IF NOT EXISTS user_rate_limits (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    service     TEXT    NOT NULL DEFAULT '',
    api         TEXT    NOT NULL DEFAULT '',
    cap         INTEGER NOT NULL,
    reset_dur   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS user_rate_limits_name_idx ON user_rate_limits (name, service, api);
