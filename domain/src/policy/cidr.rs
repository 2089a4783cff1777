//! CIDR ranges of IP allowlists, parsed by hand on top of `std::net` (no extra dependency).
//!
//! Rules, in the order they are checked:
//! - `address/prefix`, where the address is IPv4 (`10.0.0.0/8`) or IPv6 (`2001:db8::/32`) as
//!   `std::net` reads it (no zone ids, no leading zeros in IPv4 octets) and the prefix length is
//!   plain decimal within the family's range (0-32 for IPv4, 0-128 for IPv6). A bare address is
//!   accepted as a single host (`/32` or `/128`).
//! - Host bits are **refused**, not silently cleared: `10.0.0.1/8` is far more often a typo (of
//!   `/32`, or of the network) than a deliberate way to write `10.0.0.0/8`, and guessing wrong
//!   would open an allowlist to a whole network. The message proposes both readings.
//! - IPv4-mapped IPv6 ranges (`::ffff:10.0.0.0/104`) are refused with a hint to write the IPv4
//!   range: a request from a mapped address is matched as the IPv4 address it carries, so the
//!   two families never overlap and `::/0` covers IPv6 only.
//!
//! A range is stored and shown in canonical text (`2001:db8::/32`, RFC 5952 for IPv6).

use super::values::{quoted, InvalidValue};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4 or IPv6 network: an address whose bits after the prefix are zero, and the prefix
/// length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Parses and checks a CIDR range (see the module documentation for the rules).
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let (address, prefix) = match raw.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (raw, None),
        };
        let address: IpAddr = address.parse().map_err(|_| {
            InvalidValue::new(format!(
                "{} is not a CIDR range: expected an IPv4 or IPv6 address and a prefix length, \
                 e.g. `10.0.0.0/8` or `2001:db8::/32`",
                quoted(raw)
            ))
        })?;
        if let IpAddr::V6(v6) = address {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return Err(InvalidValue::new(format!(
                    "{} is an IPv4-mapped IPv6 range: write it as an IPv4 range (e.g. `{v4}/32`)",
                    quoted(raw)
                )));
            }
        }
        let max = max_prefix(address);
        let prefix = match prefix {
            None => max,
            Some(text) => parse_prefix(text, max).ok_or_else(|| {
                InvalidValue::new(format!(
                    "{} has an invalid prefix length: use a number from 0 to {max} for {}",
                    quoted(raw),
                    family(address)
                ))
            })?,
        };
        let network = mask(address, prefix);
        if network != address {
            return Err(InvalidValue::new(format!(
                "{} has bits set after the /{prefix} prefix: write `{network}/{prefix}` for the \
                 network, or `{address}/{max}` for the single address",
                quoted(raw)
            )));
        }
        Ok(IpRange { network, prefix })
    }

    /// Rebuilds a stored range without refusing anything that can be read (host bits are
    /// cleared): stored ranges were checked when they were decided.
    fn from_stored(raw: &str) -> Option<Self> {
        let (address, prefix) = raw.split_once('/')?;
        let address: IpAddr = address.parse().ok()?;
        let prefix = parse_prefix(prefix, max_prefix(address))?;
        Some(IpRange {
            network: mask(address, prefix),
            prefix,
        })
    }

    /// The network address (host bits zero).
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies in this range. An IPv4-mapped IPv6 address is matched as the IPv4
    /// address it carries; otherwise the families must agree.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        let same_family = ip.is_ipv4() == self.network.is_ipv4();
        same_family && mask(ip, self.prefix) == self.network
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries; any other address unchanged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn family(address: IpAddr) -> &'static str {
    if address.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

fn max_prefix(address: IpAddr) -> u8 {
    if address.is_ipv4() {
        32
    } else {
        128
    }
}

/// A prefix length written as 1-3 plain decimal digits (no sign, no spaces) up to `max`.
fn parse_prefix(text: &str, max: u8) -> Option<u8> {
    if !(1..=3).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u8>().ok().filter(|prefix| *prefix <= max)
}

/// `address` with every bit after the first `prefix` bits cleared. `prefix` is at most the
/// family's width; `checked_shl` turns a `/0` (a shift by the full width) into an empty mask
/// instead of an overflow.
fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let host_bits = 32 - u32::from(prefix.min(32));
            let mask = u32::MAX.checked_shl(host_bits).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let host_bits = 128 - u32::from(prefix.min(128));
            let mask = u128::MAX.checked_shl(host_bits).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

// Stored and shown as its canonical text, so event payloads read `"10.0.0.0/8"`.
impl Serialize for IpRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

// As JSON a range is its CIDR text, so its schema is a string's.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for IpRange {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "A CIDR range, e.g. `10.0.0.0/8` or `2001:db8::/32`, host bits zero.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for IpRange {}

impl<'de> Deserialize<'de> for IpRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        IpRange::from_stored(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a CIDR range")))
    }
}
