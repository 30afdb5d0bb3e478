//! The REST API, with the original's paths, JSON and permissions (see the crate README).
//!
//! Every route except the health and metrics probes needs a token (`Authorization: Bearer`
//! or `?token=`), as in sophon-auth ≥ 1.11. Errors are `{"error": "…"}` with 400 (bad
//! request, unknown user…), 401 (no or bad token), 403 (permission) or 503 (database).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json};
use serde::Serialize;
use serde::de::DeserializeOwned;
use venus_auth_client::types::*;
use venus_rpc::{Caller, Permission, observe};

use crate::address::{parse_miner, parse_signer};
use crate::authority::{Authority, VerifyFailure};
use crate::metrics::Metrics;
use crate::store::{MinerRow, RateLimitRow, SignerRow, StoreError, TokenRow, UserRow};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub struct AppState {
    pub authority: Authority,
    pub metrics: Metrics,
}

type AppResult = Result<Response, ApiError>;
type S = State<Arc<AppState>>;

/// Largest `/verify` body read (a token, or a form with one): axum's default body limit.
const VERIFY_BODY_LIMIT: usize = 2 << 20;

/// What venus-auth serves, every route under the config's timeouts. `POST /verify` — every
/// service's token check ends there — is answered straight from the connection, the rest
/// through the axum router.
pub fn app(state: Arc<AppState>, timeouts: venus_rpc::timeout::TimeoutLayer) -> venus_rpc::App {
    let verify_state = state.clone();
    let verify_direct = timeouts.direct(move |req: Request, _remote| {
        let state = verify_state.clone();
        async move { verify_request(&state, req).await.into_response() }
    });
    venus_rpc::App::new(router(state).layer(timeouts)).direct(
        axum::http::Method::POST,
        "/verify",
        verify_direct,
    )
}

fn router(state: Arc<AppState>) -> Router {
    let protected = Router::new()
        .route("/healthcheck", get(healthcheck))
        .route("/version", get(version))
        .route("/genToken", post(gen_token))
        .route("/token", get(get_token).delete(remove_token))
        .route("/tokens", get(list_tokens))
        .route("/recoverToken", post(recover_token))
        .route("/user/new", put(create_user))
        .route("/user/update", post(update_user))
        .route("/user/list", get(list_users))
        .route("/user", get(get_user))
        .route("/user/verify", post(verify_users))
        .route("/user/has", get(has_user))
        .route("/user/del", post(delete_user))
        .route("/user/recover", post(recover_user))
        .route("/user/ratelimit/upsert", post(upsert_rate_limit))
        .route("/user/ratelimit/del", post(delete_rate_limit))
        .route("/user/ratelimit", get(get_rate_limits))
        .route("/user/miner", get(user_by_miner))
        .route("/miner", get(user_by_miner))
        .route("/user/miner/add", post(upsert_miner))
        .route("/miner/add-miner", post(upsert_miner))
        .route("/user/miner/exist", get(miner_exists))
        .route("/user/miner/list", get(list_miners))
        .route("/miner/list-by-user", get(list_miners))
        .route("/user/miner/del", post(delete_miner))
        .route("/miner/del", post(delete_miner))
        .route("/miner/has", get(has_miner))
        .route("/miner/has-miner", get(has_miner))
        .route("/user/signer", get(users_by_signer))
        .route("/user/signer/register", post(register_signers))
        .route("/user/signer/unregister", post(unregister_signers))
        .route("/user/signer/exist", get(signer_exists))
        .route("/user/signer/list", get(list_signers))
        .route("/signer/has", get(has_signer))
        .route("/signer/del", post(delete_signer))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .merge(protected)
        // /verify authenticates by itself: the seed-era client sends the token as a form.
        .route("/verify", post(verify))
        .route("/metrics", get(metrics))
        .with_state(state.clone())
        .merge(health(state).router())
}

/// `/livez` (the process answers), `/readyz` and `/healthz` (the database answers too).
fn health(state: Arc<AppState>) -> observe::Health {
    observe::Health::new()
        .live("http", || async { Ok(()) })
        .ready("database", move || {
            let state = state.clone();
            async move {
                state
                    .authority
                    .store()
                    .ping()
                    .await
                    .map_err(|e| e.to_string())
            }
        })
}

// ---------------- errors ----------------

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
    fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
        }
    }
    fn forbidden(need: &str) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            message: format!("permission denied: need {need}"),
        }
    }
}

/// A request body that could not be read: too large (413, as axum's extractor answers), or
/// broken off or not arrived before the read timeout (400).
fn body_error(e: axum::Error) -> ApiError {
    let e = e.into_inner();
    if e.downcast_ref::<http_body_util::LengthLimitError>()
        .is_some()
    {
        return ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("request body larger than {VERIFY_BODY_LIMIT} bytes"),
        };
    }
    ApiError::bad(format!("reading the request body: {e}"))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: self.message,
            }),
        )
            .into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) | StoreError::Conflict(m) => Self::bad(m),
            e @ StoreError::DuplicateToken => Self::bad(e.to_string()),
            other => {
                tracing::error!(error = %other, "store failure");
                Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    message: other.to_string(),
                }
            }
        }
    }
}

impl From<VerifyFailure> for ApiError {
    fn from(e: VerifyFailure) -> Self {
        match e {
            VerifyFailure::Refused(m) => Self::unauthorized(m),
            VerifyFailure::Store(s) => s.into(),
        }
    }
}

// ---------------- authentication and permissions ----------------

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim()).filter(|t| !t.is_empty())
}

fn query_token(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .filter(|t| !t.is_empty())
}

async fn authenticate(State(s): S, mut req: Request, next: Next) -> Response {
    let token = match bearer(req.headers()) {
        Some(t) => Some(t.to_owned()),
        None => query_token(req.uri().query()),
    };
    let Some(token) = token else {
        return ApiError::unauthorized("no token: send Authorization: Bearer <token>")
            .into_response();
    };
    match s.authority.verify(&token).await {
        Ok(v) => {
            req.extensions_mut().insert(Caller {
                user: v.name,
                perm: v.perm,
            });
            next.run(req).await
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn admin(c: &Caller) -> Result<(), ApiError> {
    if c.perm.grants(Permission::Admin) {
        Ok(())
    } else {
        Err(ApiError::forbidden("admin"))
    }
}

fn admin_or_self(c: &Caller, user: &str) -> Result<(), ApiError> {
    if c.perm.grants(Permission::Admin) || c.user == user {
        Ok(())
    } else {
        Err(ApiError::forbidden("admin, or to be the user concerned"))
    }
}

// ---------------- request helpers ----------------

fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad(format!("invalid JSON body: {e}")))
}

struct Params(HashMap<String, String>);

impl Params {
    fn new(q: Option<String>) -> Self {
        Self(
            url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }
    fn str(&self, key: &str) -> &str {
        self.0.get(key).map(String::as_str).unwrap_or("")
    }
    fn required(&self, key: &str) -> Result<&str, ApiError> {
        Some(self.str(key))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::bad(format!("query parameter {key} is required")))
    }
    fn int(&self, key: &str, default: i64) -> Result<i64, ApiError> {
        match self.str(key) {
            "" => Ok(default),
            v => v.parse().map_err(|_| {
                ApiError::bad(format!("query parameter {key}={v:?} is not an integer"))
            }),
        }
    }
}

fn ok_json<T: Serialize>(v: &T) -> AppResult {
    Ok(Json(v).into_response())
}

fn ok_empty() -> AppResult {
    Ok(StatusCode::OK.into_response())
}

fn miner_arg(s: &str) -> Result<String, ApiError> {
    parse_miner(s).map_err(ApiError::bad)
}

fn signer_arg(s: &str) -> Result<String, ApiError> {
    parse_signer(s).map_err(ApiError::bad)
}

fn time(secs: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn user_out(u: UserRow) -> OutputUser {
    OutputUser {
        id: u.id,
        name: u.name,
        comment: u.comment,
        state: u.state,
        create_time: u.create_time,
        update_time: u.update_time,
    }
}

fn token_out(t: TokenRow) -> TokenInfo {
    TokenInfo {
        token: t.token,
        name: t.name,
        perm: t.perm,
        custom: String::new(),
        create_time: time(t.create_time),
    }
}

fn miner_out(m: MinerRow) -> OutputMiner {
    OutputMiner {
        miner: m.miner,
        user: m.owner,
        open_mining: m.open_mining != 0,
        created_at: time(m.created_at),
        updated_at: time(m.updated_at),
    }
}

fn signer_out(s: SignerRow) -> OutputSigner {
    OutputSigner {
        signer: s.signer,
        user: s.owner,
        created_at: time(s.created_at),
        updated_at: time(s.updated_at),
    }
}

fn limit_out(r: RateLimitRow) -> UserRateLimit {
    UserRateLimit {
        id: r.id,
        name: r.name,
        service: r.service,
        api: r.api,
        req_limit: ReqLimit {
            cap: r.cap,
            reset_dur: r.reset_dur,
        },
    }
}

fn valid_name(name: &str) -> Result<&str, ApiError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::bad("user name is empty"));
    }
    if name.len() > 50 || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiError::bad(format!(
            "invalid user name {name:?}: at most 50 characters, no spaces"
        )));
    }
    Ok(name)
}

fn valid_state(state: i64, allow_zero: bool) -> Result<i64, ApiError> {
    match state {
        0 if allow_zero => Ok(0),
        STATE_ENABLED | STATE_DISABLED => Ok(state),
        other => Err(ApiError::bad(format!(
            "invalid user state {other}: 1 (enabled) or 2 (disabled)"
        ))),
    }
}

// ---------------- verify ----------------

/// `POST /verify`: JSON `{"Token": …}` with the caller's own token as Bearer (current
/// clients), or a form `token=…` (seed-era clients; the token is then its own credential).
async fn verify(State(s): S, req: Request) -> AppResult {
    verify_request(&s, req).await
}

async fn verify_request(s: &AppState, req: Request) -> AppResult {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, VERIFY_BODY_LIMIT)
        .await
        .map_err(body_error)?;
    let headers = &parts.headers;
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let subject = if is_form {
        url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    } else if body.iter().any(|b| !b.is_ascii_whitespace()) {
        Some(json_body::<TokenBody>(&body)?.token)
    } else {
        None
    };
    let credential = bearer(headers)
        .map(str::to_owned)
        .or_else(|| query_token(parts.uri.query()));
    let (credential, subject) = match (credential, subject) {
        (Some(c), Some(t)) => (c, t),
        (None, Some(t)) if is_form => (t.clone(), t),
        (Some(c), None) => (c.clone(), c),
        (None, _) => {
            return Err(ApiError::unauthorized(
                "no token: send Authorization: Bearer <token>",
            ));
        }
    };
    if credential != subject {
        s.authority.verify(&credential).await?;
    }
    match s.authority.verify(&subject).await {
        Ok(v) => {
            s.metrics.verified(v.perm.as_str(), true);
            ok_json(&v)
        }
        Err(e) => {
            s.metrics.verified("", false);
            tracing::debug!(error = %e, "token verification failed");
            Err(e.into())
        }
    }
}

// ---------------- tokens ----------------

async fn healthcheck(State(s): S) -> AppResult {
    s.authority.store().ping().await?;
    ok_json(&serde_json::json!({"status": "ok"}))
}

async fn version() -> AppResult {
    ok_json(&VersionResponse {
        version: VERSION.into(),
    })
}

async fn gen_token(State(s): S, Extension(c): Extension<Caller>, body: Bytes) -> AppResult {
    admin(&c)?;
    let req: GenTokenRequest = json_body(&body)?;
    let perm: Permission = req
        .perm
        .parse()
        .map_err(|e: venus_rpc::perm::UnknownPermission| ApiError::bad(e.to_string()))?;
    let name = valid_name(&req.name)?;
    if !Authority::token_fits(name, perm, &req.extra) {
        return Err(ApiError::bad(format!(
            "name and extra make a token longer than {} bytes, which no service accepts: shorten extra",
            venus_rpc::verify::MAX_TOKEN_BYTES
        )));
    }
    if s.authority.store().get_user(name).await?.is_none() {
        return Err(ApiError::bad(format!(
            "token must be based on an existing user {name} to generate"
        )));
    }
    let token = s.authority.issue(name, perm, &req.extra).await?;
    tracing::info!(user = name, %perm, "token generated");
    ok_json(&GenTokenResponse { token })
}

async fn get_token(
    State(s): S,
    Extension(c): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> AppResult {
    let p = Params::new(q);
    let store = s.authority.store();
    if !p.str("token").is_empty() {
        admin(&c)?;
        let row = store
            .get_token(p.str("token"))
            .await?
            .ok_or_else(|| ApiError::bad("token not found"))?;
        return ok_json(&vec![token_out(row)]);
    }
    let name = p
        .required("name")
        .map_err(|_| ApiError::bad("query parameter token or name is required"))?;
    admin_or_self(&c, name)?;
    ok_json(
        &store
            .tokens_by_name(name)
            .await?
            .into_iter()
            .map(token_out)
            .collect::<Vec<_>>(),
    )
}

async fn list_tokens(
    State(s): S,
    Extension(c): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> AppResult {
    admin(&c)?;
    let p = Params::new(q);
    let rows = s
        .authority
        .store()
        .list_tokens(p.int("skip", 0)?, p.int("limit", 0)?)
        .await?;
    ok_json(&rows.into_iter().map(token_out).collect::<Vec<_>>())
}

/// Admin, or the owner of the token.
async fn token_owner_check(
    s: &AppState,
    c: &Caller,
    token: &str,
    removed: bool,
) -> Result<(), ApiError> {
    if c.perm.grants(Permission::Admin) {
        return Ok(());
    }
    let owner = if removed {
        s.authority
            .store()
            .token_for_verify(token)
            .await?
            .map(|r| r.name)
    } else {
        s.authority.store().get_token(token).await?.map(|r| r.name)
    };
    if owner.as_deref() == Some(c.user.as_str()) {
        Ok(())
    } else {
        Err(ApiError::forbidden("admin, or to own the token"))
    }
}

async fn remove_token(State(s): S, Extension(c): Extension<Caller>, body: Bytes) -> AppResult {
    let req: TokenBody = json_body(&body)?;
    token_owner_check(&s, &c, &req.token, false).await?;
    s.authority
        .store()
        .set_token_removed(&req.token, true)
        .await?;
    s.authority.forget_token(&req.token);
    tracing::info!(by = %c.user, "token removed");
    ok_empty()
}

async fn recover_token(State(s): S, Extension(c): Extension<Caller>, body: Bytes) -> AppResult {
    let req: TokenBody = json_body(&body)?;
    token_owner_check(&s, &c, &req.token, true).await?;
    s.authority
        .store()
        .set_token_removed(&req.token, false)
        .await?;
    ok_empty()
}

// ---------------- users ----------------

async fn create_user(State(s): S, Extension(c): Extension<Caller>, body: Bytes) -> AppResult {
    admin(&c)?;
    let req: UpdateUserRequest = json_body(&body)?;
    let name = valid_name(&req.name)?;
    let state = if req.state == 0 {
        STATE_ENABLED
    } else {
        valid_state(req.state, false)?
    };
    let user = s
        .authority
        .store()
        .create_user(name, req.comment.as_deref().unwrap_or(""), state)
        .await?;
    tracing::info!(user = name, "user created");
    ok_json(&user_out(user))
}

async fn update_user(State(s): S, Extension(c): Extension<Caller>, body: Bytes) -> AppResult {
    admin(&c)?;
    let req: UpdateUserRequest = json_body(&body)?;
    let state = valid_state(req.state, true)?;
    s.authority
        .store()
        .update_user(&req.name, req.comment.as_deref(), state)
        .await?;
    s.authority.forget_user(&req.name);
    ok_empty()
}

async fn list_users(
    State(s): S,
    Extension(c): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> AppResult {
    admin(&c)?;
    let p = Params::new(q);
    let state = valid_state(p.int("state", 0)?, true)?;
    let users = s
        .authority
        .store()
        .list_users(p.int("skip", 0)?, p.int("limit", 0)?, state)
        .await?;
    ok_json(&users.into_iter().map(user_out).collect::<Vec<_>>())
}

async fn get_user(
    State(s): S,
    Extension(c): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> AppResult {
    let p = Params::new(q);
    let name = p.required("name")?;
    admin_or_self(&c, name)?;
    let user = s.authority.store().require_user(name).await?;
    ok_json(&user_out(user))
}

async fn verify_users(State(s): S, Extension(c): Extension<Caller>, body: Bytes) -> AppResult {
    admin(&c)?;
    let req: NamesBody = json_body(&body)?;
    for name in &req.names {
        s.authority.store().require_user(name).await?;
    }
    ok_empty()
}

async fn has_user(
    State(s): S,
    Extension(c): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> AppResult {
    admin(&c)?;
    let p = Params::new(q);
    ok_json(
        &s.authority
            .store()
            .get_user(p.required("name")?)
            .await?
            .is_some(),
    )
}

async fn delete_user(State(s): S, Extension(c): Extension<Caller>, body: Bytes) -> AppResult {
    admin(&c)?;
    let req: NameBody = json_body(&body)?;
    s.authority.store().delete_user(&req.name).await?;
    s.authority.forget_user(&req.name);
    tracing::info!(user = %req.name, "user removed");
    ok_empty()
}

async fn recover_user(State(s): S, Extension(c): Extension<Caller>, body: Bytes) -> AppResult {
    admin(&c)?;
    let req: NameBody = json_body(&body)?;
    s.authority.store().recover_user(&req.name).await?;
    ok_empty()
}

// ---------------- rate limits ----------------

async fn upsert_rate_limit(State(s): S, Extension(c): Extension<Caller>, body: Bytes) -> AppResult {
    admin(&c)?;
    let req: UserRateLimit = json_body(&body)?;
    if req.req_limit.cap < 0 || req.req_limit.reset_dur < 0 {
        return Err(ApiError::bad(
            "ReqLimit.Cap and ReqLimit.ResetDur must not be negative",
        ));
    }
    let row = RateLimitRow {
        id: req.id,
        name: req.name,
        service: req.service,
        api: req.api,
        cap: req.req_limit.cap,
        reset_dur: req.req_limit.reset_dur,
    };
    ok_json(&s.authority.store().upsert_rate_limit(&row).await?)
}

async fn delete_rate_limit(State(s): S, Extension(c): Extension<Caller>, body: Bytes) -> AppResult {
    admin(&c)?;
    let req: DelRateLimitRequest = json_body(&body)?;
    if !s
        .authority
        .store()
        .delete_rate_limit(&req.name, &req.id)
        .await?
    {
        return Err(ApiError::bad(format!(
            "rate limit {} of user {} not found",
            req.id, req.name
        )));
    }
    ok_json(&req.id)
}

async fn get_rate_limits(
    State(s): S,
    Extension(c): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> AppResult {
    let p = Params::new(q);
    let name = p.required("name")?;
    admin_or_self(&c, name)?;
    let rows = s.authority.store().rate_limits(name, p.str("id")).await?;
    ok_json(&rows.into_iter().map(limit_out).collect::<Vec<_>>())
}

// ---------------- miners ----------------

async fn user_by_miner(
    State(s): S,
    Extension(c): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> AppResult {
    admin(&c)?;
    let miner = miner_arg(Params::new(q).required("miner")?)?;
    let user = s
        .authority
        .store()
        .miner_owner(&miner)
        .await?
        .ok_or_else(|| ApiError::bad(format!("miner {miner} not found")))?;
    ok_json(&user_out(user))
}

async fn upsert_miner(State(s): S, Extension(c): Extension<Caller>, body: Bytes) -> AppResult {
    admin(&c)?;
    let req: UpsertMinerRequest = json_body(&body)?;
    let miner = miner_arg(&req.miner)?;
    let created = s
        .authority
        .store()
        .upsert_miner(&req.user, &miner, req.open_mining)
        .await?;
    tracing::info!(user = %req.user, %miner, created, "miner bound");
    ok_json(&created)
}

async fn miner_exists(
    State(s): S,
    Extension(c): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> AppResult {
    let p = Params::new(q);
    let user = p.required("user")?;
    admin_or_self(&c, user)?;
    let miner = miner_arg(p.required("miner")?)?;
    ok_json(&s.authority.store().miner_exists(user, &miner).await?)
}

async fn list_miners(
    State(s): S,
    Extension(c): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> AppResult {
    let p = Params::new(q);
    let user = p.required("user")?;
    admin_or_self(&c, user)?;
    let rows = s.authority.store().list_miners(user).await?;
    ok_json(&rows.into_iter().map(miner_out).collect::<Vec<_>>())
}

async fn delete_miner(State(s): S, Extension(c): Extension<Caller>, body: Bytes) -> AppResult {
    let req: MinerBody = json_body(&body)?;
    let miner = miner_arg(&req.miner)?;
    let store = s.authority.store();
    if !c.perm.grants(Permission::Admin) && !store.miner_exists(&c.user, &miner).await? {
        return Err(ApiError::forbidden("admin, or to own the miner"));
    }
    ok_json(&store.delete_miner(&miner).await?)
}

async fn has_miner(
    State(s): S,
    Extension(c): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> AppResult {
    admin(&c)?;
    let miner = miner_arg(Params::new(q).required("miner")?)?;
    ok_json(&s.authority.store().has_miner(&miner).await?)
}

// ---------------- signers ----------------

async fn users_by_signer(
    State(s): S,
    Extension(c): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> AppResult {
    admin(&c)?;
    let signer = signer_arg(Params::new(q).required("signer")?)?;
    let users = s.authority.store().users_by_signer(&signer).await?;
    ok_json(&users.into_iter().map(user_out).collect::<Vec<_>>())
}

fn signers_arg(req: &SignersRequest) -> Result<Vec<String>, ApiError> {
    if req.signers.is_empty() {
        return Err(ApiError::bad("Signers is empty"));
    }
    req.signers.iter().map(|a| signer_arg(a)).collect()
}

async fn register_signers(State(s): S, Extension(c): Extension<Caller>, body: Bytes) -> AppResult {
    admin(&c)?;
    let req: SignersRequest = json_body(&body)?;
    let signers = signers_arg(&req)?;
    s.authority
        .store()
        .register_signers(&req.user, &signers)
        .await?;
    tracing::info!(user = %req.user, count = signers.len(), "signers registered");
    ok_empty()
}

async fn unregister_signers(
    State(s): S,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> AppResult {
    admin(&c)?;
    let req: SignersRequest = json_body(&body)?;
    let signers = signers_arg(&req)?;
    s.authority
        .store()
        .unregister_signers(&req.user, &signers)
        .await?;
    ok_empty()
}

async fn signer_exists(
    State(s): S,
    Extension(c): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> AppResult {
    let p = Params::new(q);
    let user = p.required("user")?;
    admin_or_self(&c, user)?;
    let signer = signer_arg(p.required("signer")?)?;
    ok_json(&s.authority.store().signer_exists(user, &signer).await?)
}

async fn list_signers(
    State(s): S,
    Extension(c): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> AppResult {
    let p = Params::new(q);
    let user = p.required("user")?;
    admin_or_self(&c, user)?;
    let rows = s.authority.store().list_signers(user).await?;
    ok_json(&rows.into_iter().map(signer_out).collect::<Vec<_>>())
}

async fn has_signer(
    State(s): S,
    Extension(c): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> AppResult {
    admin(&c)?;
    let signer = signer_arg(Params::new(q).required("signer")?)?;
    ok_json(&s.authority.store().has_signer(&signer).await?)
}

async fn delete_signer(State(s): S, Extension(c): Extension<Caller>, body: Bytes) -> AppResult {
    let req: SignerBody = json_body(&body)?;
    let signer = signer_arg(&req.signer)?;
    let store = s.authority.store();
    if !c.perm.grants(Permission::Admin) && !store.signer_exists(&c.user, &signer).await? {
        return Err(ApiError::forbidden("admin, or to own the signer"));
    }
    ok_json(&store.delete_signer(&signer).await?)
}

// ---------------- metrics ----------------

async fn metrics(State(s): S) -> Response {
    let store = s.authority.store();
    if let Ok(counts) = store.count_tokens().await {
        s.metrics.tokens.clear();
        for (perm, n) in counts {
            s.metrics
                .tokens
                .get_or_create(&crate::metrics::PermLabel { perm })
                .set(n);
        }
    }
    if let Ok(counts) = store.count_users().await {
        s.metrics.users.clear();
        for (state, n) in counts {
            s.metrics
                .users
                .get_or_create(&crate::metrics::StateLabel {
                    state: state.to_string(),
                })
                .set(n);
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}
