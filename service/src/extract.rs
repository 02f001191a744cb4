//! Extractors that answer bad input with *our* error shape.
//!
//! axum's own `Json`, `Path` and `Query` reject with plain-text bodies; these wrappers run
//! the same parsing and convert the rejection into an [`ApiError`], so malformed JSON, wrong
//! types, unknown fields, oversize bodies and bad UUIDs all get `{"error":{..}}` and a 4xx.
//! `Json` and `Query` also pass every string through the text gate ([`crate::text`]) before
//! the handler's type is built: no handler can receive a string Postgres cannot store.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// JSON body extractor and responder with our rejection mapping and the text gate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        // axum checks the content type, buffers within the body limit and parses; into a
        // `Value` first, so the gate sees every string whatever the target type declares.
        let axum::Json(value) =
            axum::Json::<serde_json::Value>::from_request(request, state).await?;
        crate::text::check_json(&value)?;
        serde_path_to_error::deserialize(value)
            .map(Json)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." { "body".to_owned() } else { path };
                ApiError::unprocessable("invalid_body", format!("{field}: {}", e.inner()))
            })
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters extractor with our rejection mapping.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// Query string extractor with our rejection mapping and the text gate.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        crate::text::check_query(parts.uri.query().unwrap_or_default())?;
        let axum::extract::Query(value) = axum::extract::Query::try_from_uri(&parts.uri)?;
        Ok(Query(value))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => Self::unprocessable("invalid_body", e.body_text()),
            JsonRejection::JsonSyntaxError(e) => Self::bad_request("invalid_json", e.body_text()),
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            // The body limit surfaces here, while buffering the body.
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            other => Self::bad_request("invalid_body", other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request("invalid_path", rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request("invalid_query", rejection.body_text())
    }
}
