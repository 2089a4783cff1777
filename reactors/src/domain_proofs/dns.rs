//! Looking up a custom domain's challenge record: the TXT values at `_keel-challenge.<domain>`.
//!
//! Answers are never cached: a proof is looked up when it is checked, so a record just created
//! verifies at once and a record just removed un-verifies at the next re-check. The name is
//! looked up as fully qualified, so no search domain of the host is appended. A lookup that
//! answered "no such name" or "no TXT record" found no records; any other failure (timeout,
//! server failure) is [`TxtLookup::Failed`], which proves and disproves nothing.

use crate::error::ReactorError;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};
use keel_domain::tenant::{challenge_record, DomainName, TxtLookup};
use std::net::SocketAddr;
use std::time::Duration;

/// How long one query waits for an answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Looks up challenge records through one resolver.
#[derive(Clone)]
pub struct ChallengeResolver {
    resolver: TokioResolver,
}

impl std::fmt::Debug for ChallengeResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChallengeResolver").finish_non_exhaustive()
    }
}

impl ChallengeResolver {
    /// A resolver asking `nameserver` (UDP, then TCP for long answers), or the system's
    /// resolvers (`/etc/resolv.conf`) when `None`.
    pub fn new(nameserver: Option<SocketAddr>) -> Result<ChallengeResolver, ReactorError> {
        let unusable = |e: hickory_resolver::net::NetError| {
            ReactorError::Command(format!("cannot set up the DNS resolver: {e}"))
        };
        let mut builder = match nameserver {
            Some(address) => {
                let mut server = NameServerConfig::udp_and_tcp(address.ip());
                for connection in &mut server.connections {
                    connection.port = address.port();
                }
                Resolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![server]),
                    TokioRuntimeProvider::default(),
                )
            }
            None => Resolver::builder_tokio().map_err(unusable)?,
        };
        let options = builder.options_mut();
        options.cache_size = 0;
        options.timeout = TIMEOUT;
        let resolver = builder.build().map_err(unusable)?;
        Ok(ChallengeResolver { resolver })
    }

    /// What the challenge record of `domain` holds now.
    pub async fn lookup(&self, domain: &DomainName) -> TxtLookup {
        let name = format!("{}.", challenge_record(domain));
        match self.resolver.txt_lookup(name).await {
            Ok(lookup) => TxtLookup::Records(
                lookup
                    .answers()
                    .iter()
                    .filter_map(|record| match &record.data {
                        // A TXT record is a list of strings; a value split across several is
                        // one value (as long tokens are published by some DNS hosts).
                        RData::TXT(txt) => Some(
                            txt.txt_data
                                .iter()
                                .map(|part| String::from_utf8_lossy(part))
                                .collect::<String>(),
                        ),
                        _ => None,
                    })
                    .collect(),
            ),
            Err(error) if error.is_no_records_found() || error.is_nx_domain() => {
                TxtLookup::Records(Vec::new())
            }
            Err(error) => TxtLookup::Failed(error.to_string()),
        }
    }
}
