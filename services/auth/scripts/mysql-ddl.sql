-- venus-auth MySQL DDL, for operators who create the schema by hand.
-- Same as migrations/mysql/0001_init.sql; venus-auth applies it itself on start (sqlx), and
-- since every statement is IF NOT EXISTS, a schema created by hand from this file is adopted.
-- Usage: mysql -u<USER> -p -e 'CREATE DATABASE IF NOT EXISTS venus_auth' && mysql -u<USER> -p venus_auth < mysql-ddl.sql

-- venus-auth schema (MySQL 5.7+ / MariaDB 10.3+). Times are unix seconds.
CREATE TABLE IF NOT EXISTS tokens (
    token       VARCHAR(512) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    name        VARCHAR(50)  NOT NULL,
    perm        VARCHAR(16)  NOT NULL,
    -- hex HMAC key of this token; empty = the server secret (<repo>/secret)
    secret      VARCHAR(255) NOT NULL DEFAULT '',
    extra       VARCHAR(255) NOT NULL DEFAULT '',
    create_time BIGINT       NOT NULL,
    is_deleted  BIGINT       NOT NULL DEFAULT 0,
    PRIMARY KEY (token),
    KEY tokens_name_idx (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS users (
    id          VARCHAR(64)  NOT NULL,
    name        VARCHAR(50)  NOT NULL,
    comment     VARCHAR(255) NOT NULL DEFAULT '',
    state       BIGINT       NOT NULL DEFAULT 1,
    create_time BIGINT       NOT NULL,
    update_time BIGINT       NOT NULL,
    is_deleted  BIGINT       NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY users_name_idx (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS miners (
    miner       VARCHAR(128) NOT NULL,
    owner       VARCHAR(50)  NOT NULL,
    open_mining BIGINT       NOT NULL DEFAULT 1,
    created_at  BIGINT       NOT NULL,
    updated_at  BIGINT       NOT NULL,
    PRIMARY KEY (miner),
    KEY miners_owner_idx (owner)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS signers (
    signer      VARCHAR(128) NOT NULL,
    owner       VARCHAR(50)  NOT NULL,
    created_at  BIGINT       NOT NULL,
    updated_at  BIGINT       NOT NULL,
    PRIMARY KEY (owner, signer),
    KEY signers_signer_idx (signer)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS user_rate_limits (
    id          VARCHAR(64)  NOT NULL,
    name        VARCHAR(50)  NOT NULL,
    service     VARCHAR(50)  NOT NULL DEFAULT '',
    api         VARCHAR(50)  NOT NULL DEFAULT '',
    cap         BIGINT       NOT NULL,
    reset_dur   BIGINT       NOT NULL,
    PRIMARY KEY (id),
    KEY user_rate_limits_name_idx (name, service, api)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
