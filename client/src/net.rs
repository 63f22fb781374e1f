//! Where a client may connect: public addresses, and the loopback a local cluster runs on.
//! One home for the rules the keeper's agent calls and the CLI's fetches both follow.

use std::net::IpAddr;

/// Whether `ip` is reachable on the public internet: not loopback, private (RFC 1918), shared
/// (RFC 6598), link-local (cloud metadata lives at 169.254.169.254), unique-local, site-local,
/// unspecified, multicast, broadcast, benchmarking, reserved, IETF-assigned or documentation
/// space; an IPv4 address carried inside IPv6 (mapped, compatible, NAT64, 6to4) is judged as
/// that IPv4 address, and Teredo tunnels are refused.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let [first, second, third, _] = a.octets();
            let shared = first == 100 && (64..128).contains(&second);
            let benchmarking = first == 198 && (18..20).contains(&second);
            let ietf = first == 192 && second == 0 && third == 0;
            let reserved = first >= 240;
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_multicast()
                || a.is_documentation()
                || shared
                || benchmarking
                || ietf
                || reserved
                || first == 0)
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            let low_v4 = || std::net::Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::a.b.c.d) reach the IPv4
            // address they carry; 6to4 (2002:AABB:CCDD::) reaches AA.BB.CC.DD
            let compatible = s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1);
            let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
            if compatible || nat64 {
                return is_public(IpAddr::V4(low_v4()));
            }
            if s[0] == 0x2002 {
                let v4 = std::net::Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
                return is_public(IpAddr::V4(v4));
            }
            let first = s[0];
            let unique_local = first & 0xfe00 == 0xfc00;
            let link_local = first & 0xffc0 == 0xfe80;
            let site_local = first & 0xffc0 == 0xfec0;
            let teredo = first == 0x2001 && s[1] == 0;
            let documentation = first == 0x2001 && s[1] == 0xdb8;
            let local_nat64 = first == 0x64 && s[1] == 0xff9b && s[2] == 1;
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || unique_local
                || link_local
                || site_local
                || teredo
                || documentation
                || local_nat64)
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses_and_the_private_ones_hidden_in_ipv6() {
        for ip in ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "127.0.0.2",
            "192.0.2.1",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "240.0.0.1",
            "192.0.0.8",
            "::",
            "::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:5",
            "64:ff9b::7f00:1",
            "2002:a00:1::1",
            "::10.0.0.1",
            "2001:0:4136:e378::1",
            "fec0::1",
            "2001:db8::1",
            "64:ff9b:1::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
