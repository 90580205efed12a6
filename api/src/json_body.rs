//! Request bodies as JSON objects. serde reads a struct from a JSON array too (field by field,
//! in order), so `[null, null]` would pass as a patch; every body of this API is an object.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct JsonObject<T>(T);

impl<T> JsonObject<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for JsonObject<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonObject<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // The JSON extractor keeps its configured limit, content-type check and problem errors.
        let json = web::Json::<serde_json::Value>::from_request(request, payload);
        Box::pin(async move {
            let value = json.await?.into_inner();
            if !value.is_object() {
                return Err(ApiError::validation("The body must be a JSON object.").into());
            }
            serde_json::from_value(value)
                .map(JsonObject)
                .map_err(|error| {
                    ApiError::validation(format!(
                        "The JSON body does not fit this operation: {error}"
                    ))
                    .into()
                })
        })
    }
}
