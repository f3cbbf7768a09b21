//! Omnik HUB, mounted under `/omnik` (clients' base URL ends in `/omnik/HUB`).
//!
//! Auth is `token` (or `Authorization: Bearer`) + `application_id`, plus an optional
//! `seller` naming one of the operator's sellers when an operator credential acts for
//! it. Errors are `{"code", "type", "message", "messages": [{"code", "message"}]}`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::Router;
use entreposto_domain::{Dialect, Scope};
use entreposto_store::StoreError;

use crate::auth::{authorization_token, bad_credentials, header, missing, Principal};
use crate::envelope::{Envelope, Failure};
use crate::{ApiError, AppState};

pub struct Omnik;

impl Envelope for Omnik {
    fn body(err: &ApiError) -> serde_json::Value {
        let code = Self::status(err).as_u16();
        let m = err.message();
        serde_json::json!({
            "code": code,
            "type": err.kind().to_ascii_uppercase(),
            "message": m,
            "messages": [{"code": code, "message": m}],
        })
    }
}

/// A verified Omnik credential and the scope it acts in.
pub struct OmnikAuth {
    pub principal: Principal,
    pub scope: Scope,
}

impl FromRequestParts<AppState> for OmnikAuth {
    type Rejection = Failure<Omnik>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = header(parts, "token")
            .or_else(|| authorization_token(parts))
            .ok_or_else(|| missing("token"))?;
        let app = header(parts, "application_id").ok_or_else(|| missing("application_id"))?;
        let p = state.credentials.verify(token, Dialect::Omnik).await?;
        if p.credential.id != app {
            return Err(bad_credentials().into());
        }
        let mut scope = p.scope();
        if let Some(seller) = header(parts, "seller") {
            match &p.credential.seller_id {
                Some(own) if own == seller => {}
                Some(_) => {
                    return Err(ApiError::Forbidden(format!(
                        "seller '{seller}' is not this credential's seller"
                    ))
                    .into())
                }
                None => match state
                    .store
                    .get_seller(&p.credential.operator_id, seller)
                    .await
                {
                    Ok(s) => scope.seller_id = Some(s.id),
                    Err(StoreError::NotFound) => {
                        return Err(ApiError::Forbidden(format!(
                            "seller '{seller}' is not one of this operator's sellers"
                        ))
                        .into())
                    }
                    Err(e) => return Err(e.into()),
                },
            }
        }
        Ok(OmnikAuth {
            principal: p,
            scope,
        })
    }
}

async fn unknown(_: OmnikAuth) -> Failure<Omnik> {
    Failure::new(ApiError::NotFound("resource not found".into()))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .fallback(unknown)
        .method_not_allowed_fallback(crate::envelope::method_not_allowed::<Omnik>)
}
