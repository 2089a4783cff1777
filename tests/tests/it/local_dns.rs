//! A local authoritative DNS server for tests: `hickory-server` serving an in-memory zone for
//! the root (so any name, `microsoft.com` included) on 127.0.0.1 at a free UDP port, whose TXT
//! records a test sets and removes while the server runs. Keel resolves through it with its
//! real resolver (`dns_nameserver`), so nothing of the lookup is mocked.

use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::rr::rdata::{SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordType, RrKey};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use hickory_server::Server;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;

type Zone = InMemoryZoneHandler<TokioRuntimeProvider>;

/// The running server; it stops when dropped.
pub struct LocalDns {
    /// Where it listens (UDP).
    pub address: SocketAddr,
    zone: Arc<Zone>,
    _server: Server<Catalog>,
}

impl LocalDns {
    /// Starts a server with an empty zone (a SOA only).
    pub async fn start() -> LocalDns {
        let origin = Name::root();
        let mut zone = Zone::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
        let soa = SOA::new(
            Name::from_ascii("ns.test.").unwrap(),
            Name::from_ascii("admin.test.").unwrap(),
            1,
            3600,
            600,
            86400,
            0,
        );
        assert!(zone.upsert_mut(Record::from_rdata(origin.clone(), 0, RData::SOA(soa)), 1));
        let zone = Arc::new(zone);
        let mut catalog = Catalog::new();
        let handler: Arc<dyn ZoneHandler> = zone.clone();
        catalog.upsert(LowerName::new(&origin), vec![handler]);
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let address = socket.local_addr().unwrap();
        let mut server = Server::new(catalog);
        server.register_socket(socket);
        LocalDns {
            address,
            zone,
            _server: server,
        }
    }

    /// Makes `value` the only TXT value of `name`.
    pub async fn set_txt(&self, name: &str, value: &str) {
        self.remove_txt(name).await;
        let record = Record::from_rdata(
            Name::from_ascii(format!("{name}.")).unwrap(),
            0,
            RData::TXT(TXT::new(vec![value.to_owned()])),
        );
        assert!(self.zone.upsert(record, 1).await);
    }

    /// Removes every TXT record of `name`.
    pub async fn remove_txt(&self, name: &str) {
        let name = LowerName::new(&Name::from_ascii(format!("{name}.")).unwrap());
        let key = RrKey::new(name, RecordType::TXT);
        self.zone.records_mut().await.remove(&key);
    }
}
