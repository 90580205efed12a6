//! Answers for requests no handler takes: 405 with `Allow` when the path exists under another
//! method, 404 otherwise — both as problem documents. The known paths come from the OpenAPI
//! document, which is collected from the registered handlers, so the two cannot drift.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::openapi::OpenApi;

use crate::error::{ApiError, ProblemKind};

/// Path templates of the API with the methods each answers.
#[derive(Debug, Clone, Default)]
pub struct KnownRoutes {
    routes: Vec<(Vec<Segment>, Vec<String>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Parameter,
}

impl KnownRoutes {
    pub fn from_openapi(openapi: &OpenApi) -> Self {
        let routes = openapi
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let segments = template
                    .split('/')
                    .filter(|part| !part.is_empty())
                    .map(|part| {
                        if part.starts_with('{') && part.ends_with('}') {
                            Segment::Parameter
                        } else {
                            Segment::Literal(part.to_owned())
                        }
                    })
                    .collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter(|(_, present)| *present)
                .map(|(method, _)| method.to_owned())
                .collect();
                (segments, methods)
            })
            .collect();
        Self { routes }
    }

    /// The methods a path answers to, if it is a path of the API at all.
    fn methods_for(&self, path: &str) -> Option<Vec<String>> {
        let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
        let mut methods: Vec<String> = self
            .routes
            .iter()
            .filter(|(segments, _)| {
                segments.len() == parts.len()
                    && segments
                        .iter()
                        .zip(&parts)
                        .all(|(segment, part)| match segment {
                            Segment::Literal(literal) => literal == part,
                            Segment::Parameter => true,
                        })
            })
            .flat_map(|(_, methods)| methods.iter().cloned())
            .collect();
        methods.sort();
        methods.dedup();
        (!methods.is_empty()).then_some(methods)
    }
}

pub async fn fallback(
    request: HttpRequest,
    routes: web::Data<KnownRoutes>,
) -> Result<HttpResponse, ApiError> {
    Err(match routes.methods_for(request.path()) {
        Some(methods) => {
            let allow = methods.join(", ");
            let detail = format!("{} is not allowed here; use {allow}.", request.method());
            match HeaderValue::from_str(&allow) {
                Ok(value) => ApiError::new(ProblemKind::MethodNotAllowed, detail)
                    .with_header(header::ALLOW, value),
                Err(_) => ApiError::new(ProblemKind::MethodNotAllowed, detail),
            }
        }
        None => ApiError::new(
            ProblemKind::NotFound,
            "No operation of the API has this path.",
        ),
    })
}
