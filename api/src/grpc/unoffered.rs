//! Everything of the protocol Keel does not serve (persistent subscriptions, projections,
//! users, operations, gossip, monitoring...) answers `UNIMPLEMENTED` saying so, instead of
//! the bare status an unknown path gets.

use http::{Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tonic::body::BoxBody;
use tonic::Status;
use tower::{Layer, Service};

/// The gRPC services Keel serves (path prefixes).
const SERVED: [&str; 2] = [
    "/event_store.client.streams.Streams/",
    "/event_store.client.server_features.ServerFeatures/",
];

/// Wraps the server's routes with [`Unoffered`].
#[derive(Debug, Clone, Copy, Default)]
pub struct UnofferedLayer;

impl<S> Layer<S> for UnofferedLayer {
    type Service = Unoffered<S>;

    fn layer(&self, inner: S) -> Unoffered<S> {
        Unoffered { inner }
    }
}

/// Answers calls of services Keel does not offer; passes the others on.
#[derive(Debug, Clone)]
pub struct Unoffered<S> {
    inner: S,
}

/// The message for a call of `path` that Keel does not serve.
pub fn message(path: &str) -> String {
    let service = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    format!(
        "Keel does not offer `{service}`: it serves the Streams service (Read, Append, \
         BatchAppend, Delete, Tombstone) and ServerFeatures only"
    )
}

impl<S, B> Service<Request<B>> for Unoffered<S>
where
    S: Service<Request<B>, Response = Response<BoxBody>> + Send,
    S::Future: Send + 'static,
{
    type Response = Response<BoxBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<BoxBody>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let path = request.uri().path();
        if SERVED.iter().any(|served| path.starts_with(served)) {
            let future = self.inner.call(request);
            return Box::pin(future);
        }
        let response = Status::unimplemented(message(path)).into_http();
        Box::pin(async move { Ok(response) })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_message_names_the_service() {
        let text = super::message(
            "/event_store.client.persistent_subscriptions.PersistentSubscriptions/Create",
        );
        assert!(text.starts_with("Keel does not offer `event_store.client.persistent_subscriptions.PersistentSubscriptions`"));
    }
}
