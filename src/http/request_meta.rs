//! What the service knows about a request before it reads the body: the client's address
//! (through the proxies the operator trusts), the request id (the caller's own when it is
//! well formed, so one id follows a request across systems) and the W3C trace context.
//! Computed once, as the request's span opens, and read by the handlers, the rate limits
//! and the log line.
//!
//! Written here rather than taken from actix-web's `ConnectionInfo::realip_remote_addr`,
//! which believes `Forwarded`/`X-Forwarded-For` from any peer: a client could then choose
//! its own rate-limit bucket.

use std::future::{Ready, ready};
use std::net::IpAddr;
use std::time::Instant;

use actix_web::dev::Payload;
use actix_web::http::header::HeaderMap;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest};
use ipnet::IpNet;

/// The header that carries a request id in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The W3C trace context header.
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// Longest request id taken from a caller; longer ones are replaced.
const MAX_REQUEST_ID_LEN: usize = 64;

/// The proxies whose `Forwarded`/`X-Forwarded-For` name the client (`POSKO_TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses CIDRs (`10.0.0.0/8`) or single addresses (`127.0.0.1`).
    pub fn parse(entries: &[String]) -> anyhow::Result<Self> {
        let mut nets = Vec::new();
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    anyhow::anyhow!(
                        "POSKO_TRUSTED_PROXIES: {entry:?} is neither a CIDR nor an IP address"
                    )
                })?;
            nets.push(net);
        }
        Ok(Self(nets))
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|net| net.contains(&address))
    }
}

/// An IPv4 address mapped into IPv6 (`::ffff:10.0.0.1`) is the IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy; then the
/// forwarding chain is read from the right (the hop nearest this server) and the first
/// address that is not a trusted proxy is the client. A hop that does not parse ends the
/// walk at the last trusted proxy, so a forged entry can never choose an address.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let mut client = canonical(peer?);
    if !trusted.trusts(client) {
        return Some(client);
    }
    for hop in forwarded_chain(headers).iter().rev() {
        match hop {
            Some(address) => {
                client = canonical(*address);
                if !trusted.trusts(client) {
                    break;
                }
            }
            None => break,
        }
    }
    Some(client)
}

/// The hops a request passed, client first: RFC 7239 `Forwarded` when present (it is the
/// standard), `X-Forwarded-For` otherwise. `None` is a hop that names no address
/// (`unknown`, an obfuscated name, or garbage).
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|value| value.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, node)| parse_node(node))
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(parse_node)
        .collect()
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`,
/// `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(address);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse().ok()
}

/// A caller's `x-request-id`, if it is one we may repeat in logs and headers: short, and
/// only letters, digits and `-_.:` (no spaces, quotes or control characters to forge log
/// lines with).
fn valid_request_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_REQUEST_ID_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// A W3C `traceparent` (`00-<trace id>-<parent id>-<flags>`), lower-case hex, with neither
/// id all zeros; anything else is dropped, as the recommendation says.
fn valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let zero = |s: &str| s.bytes().all(|b| b == b'0');
    match parts.as_slice() {
        [version, trace, parent, flags, ..] => {
            hex(version, 2)
                && *version != "ff"
                && (*version != "00" || parts.len() == 4)
                && hex(trace, 32)
                && !zero(trace)
                && hex(parent, 16)
                && !zero(parent)
                && hex(flags, 2)
        }
        _ => false,
    }
}

/// One request's identity, put in the request's extensions as its span opens.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    /// The caller's valid `x-request-id`, or a new UUID.
    pub id: String,
    /// The client's address as far as trusted proxies tell.
    pub client: Option<IpAddr>,
    /// The caller's valid `traceparent`, kept for logs and echoed.
    pub traceparent: Option<String>,
    pub started: Instant,
}

impl RequestMeta {
    /// Reads the request's headers and peer.
    pub fn of(
        headers: &HeaderMap,
        peer: Option<IpAddr>,
        trusted: &TrustedProxies,
        generated_id: impl FnOnce() -> String,
    ) -> Self {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let id = header(REQUEST_ID_HEADER)
            .filter(|id| valid_request_id(id))
            .map_or_else(generated_id, str::to_owned);
        let traceparent = header(TRACEPARENT_HEADER)
            .map(str::trim)
            .filter(|t| valid_traceparent(t))
            .map(str::to_owned);
        Self {
            id,
            client: client_address(peer, headers, trusted),
            traceparent,
            started: Instant::now(),
        }
    }

    /// The trace id of the caller's trace context.
    pub fn trace_id(&self) -> Option<&str> {
        self.traceparent.as_deref().and_then(|t| t.get(3..35))
    }
}

/// The client's address of a request (the peer's, if the span builder did not run).
pub fn client_of(request: &HttpRequest) -> Option<IpAddr> {
    match request.extensions().get::<RequestMeta>() {
        Some(meta) => meta.client,
        None => request.peer_addr().map(|a| a.ip()),
    }
}

impl FromRequest for RequestMeta {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    /// The meta the span builder stored; a request that bypassed it (none does) gets its
    /// own, with no trusted proxies.
    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let meta = request.extensions().get::<Self>().cloned();
        ready(Ok(meta.unwrap_or_else(|| {
            Self::of(
                request.headers(),
                request.peer_addr().map(|a| a.ip()),
                &TrustedProxies::default(),
                || uuid::Uuid::new_v4().to_string(),
            )
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn trusted(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        let got = client_address(Some(ip("203.0.113.9")), &h, &trusted(&["10.0.0.0/8"]));
        assert_eq!(got, Some(ip("203.0.113.9")));
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        // The client forged 6.6.6.6; the proxies appended the real address after it.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.2")]);
        let got = client_address(Some(ip("10.0.0.1")), &h, &trusted(&["10.0.0.0/8"]));
        assert_eq!(got, Some(ip("198.51.100.7")));
    }

    #[test]
    fn forwarded_is_preferred_and_its_forms_parse() {
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            (
                "forwarded",
                "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https",
            ),
        ]);
        let got = client_address(Some(ip("127.0.0.1")), &h, &trusted(&["127.0.0.1"]));
        assert_eq!(got, Some(ip("2001:db8:cafe::17")));
        let h = headers(&[("forwarded", "for=192.0.2.60:8080;by=10.0.0.1")]);
        let got = client_address(Some(ip("127.0.0.1")), &h, &trusted(&["127.0.0.1"]));
        assert_eq!(got, Some(ip("192.0.2.60")));
    }

    #[test]
    fn a_hop_that_names_no_address_stops_at_the_last_proxy() {
        let h = headers(&[("x-forwarded-for", "198.51.100.7, unknown")]);
        let got = client_address(Some(ip("10.0.0.1")), &h, &trusted(&["10.0.0.0/8"]));
        assert_eq!(got, Some(ip("10.0.0.1")));
    }

    #[test]
    fn mapped_ipv4_peers_match_ipv4_ranges() {
        let h = headers(&[("x-forwarded-for", "198.51.100.7")]);
        let got = client_address(Some(ip("::ffff:10.0.0.1")), &h, &trusted(&["10.0.0.0/8"]));
        assert_eq!(got, Some(ip("198.51.100.7")));
    }

    #[test]
    fn request_ids_and_trace_contexts_are_checked() {
        assert!(valid_request_id("abc-123_x.y:z"));
        assert!(!valid_request_id(""));
        assert!(!valid_request_id("a b"));
        assert!(!valid_request_id("x\"}\n{\"level\":\"ERROR\""));
        assert!(!valid_request_id(&"a".repeat(65)));
        assert!(valid_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        assert!(!valid_traceparent(
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01"
        ));
        assert!(!valid_traceparent(
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"
        ));
        assert!(!valid_traceparent(
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        assert!(!valid_traceparent("garbage"));
    }

    #[test]
    fn bad_proxy_entries_are_refused_at_start() {
        let err = TrustedProxies::parse(&["10.0.0.0/33".into()]).unwrap_err();
        assert!(err.to_string().contains("POSKO_TRUSTED_PROXIES"));
    }
}
