//! Where a client may connect: public addresses, and the loopback a local cluster runs on.
//! One home for the rules the keeper's agent calls and the CLI's fetches both follow.

use std::net::IpAddr;

/// Whether `ip` is reachable on the public internet: not loopback, private (RFC 1918), shared
/// (RFC 6598), link-local (cloud metadata lives at 169.254.169.254), unique-local, unspecified,
/// multicast, broadcast or documentation space, including IPv4 addresses mapped into IPv6.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let [first, second, ..] = a.octets();
            let shared = first == 100 && (64..128).contains(&second);
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_multicast()
                || a.is_documentation()
                || shared
                || first == 0)
        }
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = a.segments()[0];
                let unique_local = first & 0xfe00 == 0xfc00;
                let link_local = first & 0xffc0 == 0xfe80;
                !(a.is_loopback() || a.is_unspecified() || a.is_multicast() || unique_local || link_local)
            }
        },
    }
}

/// Whether `url`'s host is this machine (`localhost`, 127.0.0.0/8, `[::1]`).
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else { return false };
    match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether `url` is a loopback http(s) address with nothing after the port (no user, path or
/// query): a local validator's, which holds no secret and may be shown to browsers.
pub fn is_bare_loopback_url(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else { return false };
    is_loopback_url(url)
        && matches!(u.scheme(), "http" | "https")
        && u.username().is_empty()
        && u.password().is_none()
        && u.path() == "/"
        && u.query().is_none()
        && u.fragment().is_none()
}
