//! The mount table's types: what an API served by the hub tells the edge about itself,
//! and [`Routes`], the builder that registers an API's routes with their OpenAPI
//! documentation.
//!
//! Each dialect crate (and the native API) exports one [`Mount`]; the server lists
//! them and hands the list to [`crate::router`]. The edge never names a vendor: it
//! routes, renders framework errors and builds credential headers through the table.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::routing::{any, get};
use axum::{Json, Router};
use entreposto_domain::Dialect;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::server::Server;
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder,
};
use utoipa_axum::router::UtoipaMethodRouter;

use crate::envelope::Envelope;
use crate::{ApiError, AppState, Renderer};

/// The headers a client sends with a credential, given the credential's id, its
/// secret and (SkyHub) the user e-mail it was issued for.
pub type CredentialHeaders = fn(&str, &str, Option<&str>) -> Vec<(&'static str, String)>;

/// Where a request carries its credential's secret, as an API's clients send it:
/// the same function its auth extractor reads the secret with.
pub type SecretOf = for<'a> fn(&'a axum::http::HeaderMap) -> Option<&'a str>;

/// One API the hub serves: the credentials it accepts, where it is mounted on the
/// shared listener, its routes (given a prefix: the mount's, or `""` at the root of
/// a listener of its own), how it renders an error for a path it owns and how large a
/// body that path takes (both given the path below its prefix), and the headers its
/// clients send.
#[derive(Clone, Copy)]
pub struct Mount {
    pub dialect: Dialect,
    pub prefix: &'static str,
    pub routes: fn(&'static str) -> Router<AppState>,
    pub renderer: fn(&str) -> Renderer,
    /// The largest request body a path takes, [`crate::MAX_BODY_BYTES`] for all but a
    /// few (00K's imports carry thousands of products): known from the path, so that
    /// the edge refuses a larger declared body from the head alone, before routing.
    pub body_limit: fn(&str) -> usize,
    pub credential_headers: CredentialHeaders,
    /// Whether its credentials carry a user e-mail the client sends with the secret
    /// (SkyHub's `X-User-Email`).
    pub user_email: bool,
    /// Where its requests carry the credential's secret: the edge verifies it before
    /// routing, to charge the request to its credential's rate limit and to key its
    /// `Idempotency-Key` (see [`crate::auth::verify_request`]).
    pub secret: SecretOf,
    /// Its vendor's published per-endpoint limits, by name, for
    /// `[rate_limits.dialects] <dialect> = "<preset>"` (none for most).
    pub rate_presets: &'static [crate::rate_limit::RatePreset],
    /// Request headers besides the credential's that decide what a request does
    /// (Omnik's `seller`, choosing which of an operator's sellers it acts for): an
    /// `Idempotency-Key`'s request fingerprint covers them with the credential's, so
    /// a repeat for another seller is refused, not answered with the first one's.
    pub scope_headers: &'static [&'static str],
}

/// [`Mount::body_limit`] for an API whose every path takes [`crate::MAX_BODY_BYTES`].
pub fn default_body_limit(_path: &str) -> usize {
    crate::MAX_BODY_BYTES
}

impl Mount {
    /// The API's name, as `--dialect` and the config's `[dialects.<name>]` spell it.
    pub fn name(&self) -> &str {
        self.dialect.as_str()
    }
}

/// The routes of one mounted API, each registered together with its documentation,
/// and the OpenAPI document they make, served at `openapi.json` under the base.
///
/// Routes only come in through [`Routes::routes`], which takes what
/// `utoipa_axum::routes!` yields for handlers annotated with `#[utoipa::path]`: a
/// handler without documentation cannot be registered, so a route cannot exist
/// undocumented. Paths are documented relative to the prefix (`/sac`), and the served
/// document's `servers` is the listener's URL with the prefix, so the same document
/// is right on the shared listener and at the root of a dialect's own.
///
/// The responses every operation of the API can give whatever its handler says (the
/// credential refusals, the validation, busy and internal errors, the body limit) are
/// added here from [`Answers`], in the API's own error envelope, so no handler has to
/// remember them and the document tells what the edge does.
///
/// axum's `Router::nest` would do the prefixing, but at a price on every request:
/// each nested route is wrapped in layers that rebuild the request's URI without the
/// prefix and record the nesting, two more boxed futures and a URI parse per call, a
/// few percent of a point read. Registering full paths routes in one lookup; the
/// nested router's fallback becomes a catch-all route under the prefix.
pub struct Routes {
    prefix: &'static str,
    router: Router<AppState>,
    doc: OpenApi,
    doc_path: &'static str,
    trailing_slash: bool,
    answers: Answers,
}

/// How the operations added next fail and authenticate, for their documentation.
#[derive(Clone, Copy)]
pub struct Answers {
    /// The status the API's envelope gives each error ([`Envelope::status`]).
    pub status: fn(&ApiError) -> StatusCode,
    /// The name of the envelope's schema among the document's components.
    pub envelope: &'static str,
    /// The security requirements, any one of which grants access, each the names of
    /// security schemes sent together; empty for open operations.
    pub security: &'static [&'static [&'static str]],
    /// When a valid credential may still be refused with 403, if it can be.
    pub forbidden: Option<&'static str>,
}

impl Answers {
    /// The name, among the document's component responses, of the 429 in this
    /// envelope.
    fn too_many_name(&self) -> String {
        format!("TooManyRequests{}", self.envelope)
    }

    /// The 429 of [`Answers::too_many_name`]: the envelope, with `Retry-After` and the
    /// `RateLimit-*` headers.
    fn too_many(&self) -> Response {
        let mut r = self.envelope_response(
            "The credential's rate limit is spent: retry after `Retry-After` seconds",
        );
        r.headers.insert(
            "Retry-After".into(),
            integer_header("Seconds to wait before retrying"),
        );
        for (name, what) in RATE_LIMIT_HEADERS {
            r.headers.insert(name.into(), integer_header(what));
        }
        r
    }

    /// The answers of envelope `D`, whose schema is the component named `envelope`,
    /// for operations open to anyone (see [`Answers::secured`]).
    pub fn of<D: Envelope>(envelope: &'static str) -> Answers {
        Answers {
            status: D::status,
            envelope,
            security: &[],
            forbidden: None,
        }
    }

    /// These answers for operations that need one of `security`'s requirements.
    pub fn secured(self, security: &'static [&'static [&'static str]]) -> Answers {
        Answers { security, ..self }
    }

    /// These answers for operations that refuse some valid credentials with 403.
    pub fn forbidding(self, when: &'static str) -> Answers {
        Answers {
            forbidden: Some(when),
            ..self
        }
    }

    fn envelope_response(&self, description: &str) -> Response {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(self.envelope)))
                    .build(),
            )
            .build()
    }

    /// Adds to `op` what the edge answers besides its handler's own responses, and
    /// fills the error responses the handler listed without a body with the envelope.
    /// A `write` (POST, PUT, PATCH) of a secured API takes an `Idempotency-Key`.
    fn complete(&self, op: &mut Operation, has_path_params: bool, write: bool) {
        let mut errors: Vec<(StatusCode, &str)> = Vec::new();
        let secured = !self.security.is_empty();
        if secured {
            errors.push((
                (self.status)(&ApiError::Unauthorized(String::new())),
                "Missing or invalid credentials",
            ));
            op.security = Some(
                self.security
                    .iter()
                    .map(|names| {
                        names.iter().fold(SecurityRequirement::default(), |r, n| {
                            r.add(*n, Vec::<String>::new())
                        })
                    })
                    .collect(),
            );
        }
        if let Some(when) = self.forbidden {
            errors.push(((self.status)(&ApiError::Forbidden(String::new())), when));
        }
        if has_path_params {
            errors.push((
                (self.status)(&ApiError::NotFound(String::new())),
                "No such resource",
            ));
        }
        errors.push((
            (self.status)(&ApiError::invalid("", "")),
            "A field, parameter or path segment is invalid; the message names it",
        ));
        if op.request_body.is_some() {
            errors.push((
                (self.status)(&ApiError::PayloadTooLarge),
                "The body is larger than the limit (1 MiB)",
            ));
        }
        if secured && write {
            op.parameters
                .get_or_insert_with(Vec::new)
                .push(idempotency_key_parameter());
            errors.push((
                (self.status)(&ApiError::IdempotencyKeyReused),
                "The `Idempotency-Key` was already used with another request",
            ));
            errors.push((
                (self.status)(&ApiError::IdempotencyInFlight),
                "The first request with this `Idempotency-Key` is still in flight: retry after \
                 `Retry-After` seconds",
            ));
        }
        if secured {
            // One response of the document's components, not the same headers
            // written out in every operation.
            op.responses
                .responses
                .entry("429".into())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(self.too_many_name())));
        }
        errors.push((
            (self.status)(&ApiError::Busy),
            "The server is busy: retry after `Retry-After` seconds",
        ));
        errors.push((
            (self.status)(&ApiError::Internal),
            "Internal error (details are logged, never sent)",
        ));
        let responses = &mut op.responses.responses;
        for (status, description) in errors {
            let key = status.as_u16().to_string();
            responses
                .entry(key)
                .or_insert_with(|| RefOr::T(self.envelope_response(description)));
        }
        // A handler may list an error status without a body: its body is the envelope.
        for (key, response) in responses.iter_mut() {
            if let RefOr::T(r) = response {
                if key.starts_with(['4', '5']) && r.content.is_empty() {
                    if r.description.is_empty() {
                        r.description = "Error".into();
                    }
                    r.content = self.envelope_response("").content;
                }
                if key.starts_with('5') {
                    r.headers.insert(
                        "Retry-After".into(),
                        integer_header("Seconds to wait before retrying"),
                    );
                }
            }
        }
    }
}

/// The `RateLimit-*` headers of every answer to a credential (the 429 included).
const RATE_LIMIT_HEADERS: [(&str, &str); 3] = [
    (
        "RateLimit-Limit",
        "Requests the credential's limit allows at once",
    ),
    ("RateLimit-Remaining", "Requests it may still send at once"),
    ("RateLimit-Reset", "Seconds until the limit is whole again"),
];

fn integer_header(description: &str) -> utoipa::openapi::Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::Integer))
        .description(Some(description))
        .build()
}

/// The `Idempotency-Key` header every write of a secured API takes.
fn idempotency_key_parameter() -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(utoipa::openapi::Required::False)
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(crate::idempotency::MAX_KEY_LEN)),
        ))
        .description(Some(
            "Any unique value (a UUID): a repeat of this request with the same key within \
             24 hours answers the first success again (with `Idempotent-Replayed: true`) \
             without doing it twice. Keys are per credential.",
        ))
        .build()
}

impl Routes {
    /// The routes of an API under `prefix`, documented in `doc` (its info, security
    /// schemes and envelope schemas; the paths are added as routes are), failing as
    /// `answers` says.
    pub fn under(prefix: &'static str, doc: OpenApi, answers: Answers) -> Routes {
        Routes {
            prefix,
            router: Router::new(),
            doc,
            doc_path: "/openapi.json",
            trailing_slash: false,
            answers,
        }
    }

    /// Where the document is served below the prefix (`/openapi.json` unless set):
    /// where the API's clients put their base URL (Omnik's `/HUB`).
    pub fn document_at(self, path: &'static str) -> Routes {
        Routes {
            doc_path: path,
            ..self
        }
    }

    /// Every route added next also answers with a trailing slash, as some vendors'
    /// clients call it (the document lists each path once, without it).
    pub fn trailing_slash(self) -> Routes {
        Routes {
            trailing_slash: true,
            ..self
        }
    }

    /// The operations added next fail and authenticate as `answers` says.
    pub fn answering(self, answers: Answers) -> Routes {
        Routes { answers, ..self }
    }

    /// Adds the handlers of one path, as `utoipa_axum::routes!(a, b)` yields them:
    /// registered at the prefix plus their documented path, and documented.
    ///
    /// Panics when the handlers are documented with different paths: one call is one
    /// path (the macro would register every handler at every path).
    pub fn routes(mut self, (schemas, paths, methods): UtoipaMethodRouter<AppState>) -> Routes {
        let mut paths = paths.paths.into_iter();
        let (path, mut item) = paths.next().expect("routes! yields a path");
        assert!(
            paths.next().is_none(),
            "one routes!(...) per path: {path} is grouped with another"
        );
        assert!(path.starts_with('/'), "{path}: paths start with /");
        let full = format!("{}{path}", self.prefix);
        if self.trailing_slash && !path.ends_with('/') {
            self.router = self.router.route(&format!("{full}/"), methods.clone());
        }
        self.router = self.router.route(&full, methods);
        let has_path_params = path.contains('{');
        for (op, write) in [
            (&mut item.get, false),
            (&mut item.put, true),
            (&mut item.post, true),
            (&mut item.delete, false),
            (&mut item.patch, true),
            (&mut item.head, false),
            (&mut item.options, false),
            (&mut item.trace, false),
        ] {
            if let Some(op) = op {
                self.answers.complete(op, has_path_params, write);
            }
        }
        match self.doc.paths.paths.get_mut(&path) {
            Some(existing) => existing.merge_operations(item),
            None => {
                self.doc.paths.paths.insert(path, item);
            }
        }
        let components = self.doc.components.get_or_insert_with(Default::default);
        components.schemas.extend(schemas);
        if !self.answers.security.is_empty() {
            components
                .responses
                .entry(self.answers.too_many_name())
                .or_insert_with(|| RefOr::T(self.answers.too_many()));
        }
        self
    }

    /// The finished router: the document at its path (no credentials needed), a
    /// method a route does not serve gets `not_allowed`, and any other path under the
    /// prefix (the prefix itself included) gets `unknown`.
    pub fn finish<H, T, M, U>(self, unknown: H, not_allowed: M) -> Router<AppState>
    where
        H: Handler<T, AppState>,
        T: 'static,
        M: Handler<U, AppState>,
        U: 'static,
    {
        let p = self.prefix;
        let mut doc = self.doc;
        // What no operation can carry: the answers for methods and paths not listed.
        let note = "A method a listed path does not serve answers 405 with `Allow`, and a \
                    path not listed 404 (once the credentials pass, where the API needs \
                    them), both in the error envelope.";
        doc.info.description = Some(match doc.info.description.take() {
            Some(d) => format!("{d}\n\n{note}"),
            None => note.to_string(),
        });
        let doc = Arc::new(doc);
        let served = move |State(state): State<AppState>| {
            let doc = doc.clone();
            async move { Json(document_for(&doc, &format!("{}{p}", state.public_url))) }
        };
        let mut router = self
            .router
            .route(&format!("{p}{}", self.doc_path), get(served))
            .method_not_allowed_fallback(not_allowed);
        // At the root of a listener of its own the prefix is empty, and `/` below
        // covers it.
        if !p.is_empty() {
            router = router.route(p, any(unknown.clone()));
        }
        router
            .route(&format!("{p}/"), any(unknown.clone()))
            .route(&format!("{p}/{{*rest}}"), any(unknown))
    }
}

/// `doc` as served to a client of the listener whose base (URL and prefix) is `base`.
fn document_for(doc: &OpenApi, base: &str) -> OpenApi {
    let mut doc = doc.clone();
    doc.servers = Some(vec![Server::new(base)]);
    doc
}

/// The headers a client of `dialect` sends with a credential, from the mount that
/// serves `dialect` (none when no mount does).
pub fn credential_headers(
    mounts: &[Mount],
    dialect: Dialect,
    id: &str,
    secret: &str,
    user_email: Option<&str>,
) -> BTreeMap<String, String> {
    mounts
        .iter()
        .filter(|m| m.dialect == dialect)
        .flat_map(|m| (m.credential_headers)(id, secret, user_email))
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Plain;

    /// An envelope that answers validation failures with 400, as some vendors do.
    struct Strict;

    impl Envelope for Strict {
        fn body(err: &ApiError) -> serde_json::Value {
            Plain::body(err)
        }

        fn status(err: &ApiError) -> StatusCode {
            match err {
                ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
                e => e.status(),
            }
        }
    }

    #[utoipa::path(get, path = "/things/{id}", responses((status = 200), (status = 409)))]
    async fn thing() {}

    #[utoipa::path(post, path = "/things/{id}", request_body = String, responses((status = 201)))]
    async fn make_thing() {}

    #[utoipa::path(get, path = "/other", responses((status = 200)))]
    async fn other() {}

    #[utoipa::path(post, path = "/other", responses((status = 200)))]
    async fn post_other() {}

    fn doc_of(routes: Routes) -> OpenApi {
        routes.doc
    }

    #[test]
    fn operations_get_the_edge_answers_in_the_envelope() {
        let answers = Answers::of::<Strict>("StrictError")
            .secured(&[&["a", "b"], &["c"]])
            .forbidding("not yours");
        let routes = Routes::under("/p", OpenApi::default(), answers)
            .trailing_slash()
            .routes(utoipa_axum::routes!(thing, make_thing))
            .routes(utoipa_axum::routes!(other));
        let doc = serde_json::to_value(doc_of(routes)).unwrap();
        let get = &doc["paths"]["/things/{id}"]["get"];
        let codes: Vec<&String> = get["responses"].as_object().unwrap().keys().collect();
        // The handler's own, then the edge's: credentials, 403, 404 (a path
        // parameter), the envelope's validation status, busy and internal. No 413:
        // there is no body.
        assert_eq!(
            codes,
            ["200", "400", "401", "403", "404", "409", "429", "500", "503"]
        );
        assert_eq!(
            get["responses"]["409"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/StrictError",
            "a listed error without a body gets the envelope"
        );
        assert!(get["responses"]["503"]["headers"]["Retry-After"].is_object());
        assert_eq!(
            get["responses"]["429"]["$ref"],
            "#/components/responses/TooManyRequestsStrictError"
        );
        let too_many = &doc["components"]["responses"]["TooManyRequestsStrictError"];
        for h in [
            "Retry-After",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
        ] {
            assert!(too_many["headers"][h].is_object(), "{h}");
        }
        assert!(
            get["parameters"].is_null(),
            "a read takes no Idempotency-Key"
        );
        assert!(get["responses"]["200"]["content"].is_null());
        assert_eq!(
            get["security"],
            serde_json::json!([{"a": [], "b": []}, {"c": []}])
        );
        let post = &doc["paths"]["/things/{id}"]["post"];
        assert!(
            post["responses"]["413"].is_object(),
            "a body can be too large"
        );
        assert_eq!(post["parameters"][0]["name"], "Idempotency-Key");
        assert_eq!(post["parameters"][0]["in"], "header");
        assert!(post["responses"]["422"].is_object(), "a key reused");
        let other = &doc["paths"]["/other"]["get"]["responses"];
        assert!(other["404"].is_null(), "no parameter, nothing to miss");
        assert!(doc["paths"]["/p/other"].is_null(), "paths below the prefix");
    }

    #[test]
    #[should_panic(expected = "one routes!(...) per path")]
    fn one_path_per_registration() {
        let _ = Routes::under("/p", OpenApi::default(), Answers::of::<Plain>("E"))
            .routes(utoipa_axum::routes!(thing, post_other));
    }
}
