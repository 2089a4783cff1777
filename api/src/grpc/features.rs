//! `ServerFeatures.GetSupportedMethods`: what Keel serves, truthfully, and Keel's version.
//! Clients ask on connecting and, for example, use `BatchAppend` only if it is listed.

use super::proto::server_features::server_features_server::ServerFeatures;
use super::proto::server_features::{SupportedMethod, SupportedMethods};
use super::proto::shared::Empty;
use tonic::{Request, Response, Status};

/// The Streams service's name as clients compare it (lower case).
const STREAMS: &str = "event_store.client.streams.streams";
/// The ServerFeatures service's name.
const FEATURES: &str = "event_store.client.server_features.serverfeatures";

/// The methods Keel serves, by (service, method, features).
pub const SUPPORTED: [(&str, &str, &[&str]); 6] = [
    (STREAMS, "read", &["position", "events"]),
    (STREAMS, "append", &[]),
    (STREAMS, "batchappend", &[]),
    (STREAMS, "delete", &[]),
    (STREAMS, "tombstone", &[]),
    (FEATURES, "getsupportedmethods", &[]),
];

/// The `ServerFeatures` service.
#[derive(Debug, Clone, Default)]
pub struct FeaturesService;

#[tonic::async_trait]
impl ServerFeatures for FeaturesService {
    async fn get_supported_methods(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<SupportedMethods>, Status> {
        Ok(Response::new(SupportedMethods {
            methods: SUPPORTED
                .iter()
                .map(|(service, method, features)| SupportedMethod {
                    method_name: (*method).to_owned(),
                    service_name: (*service).to_owned(),
                    features: features.iter().map(|f| (*f).to_owned()).collect(),
                })
                .collect(),
            event_store_server_version: env!("CARGO_PKG_VERSION").to_owned(),
        }))
    }
}
