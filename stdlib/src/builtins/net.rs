//! IP addresses and CIDR networks, IPv4 and IPv6.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::{Ctx, arity, type_error, want_cidr, want_str};
use crate::value::Value;

fn parse_addr(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

/// `10.0.0.0/8`, `::/0`, or a bare address as a one-address network.
fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| parse_addr(s).map(IpNet::from))
}

pub(super) fn ip(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [s] = arity::<1>("ip", args)?;
    let s = want_str("ip", s)?;
    parse_addr(s)
        .map(Value::Ip)
        .ok_or_else(|| format!("ip: {s:?} is not an IP address"))
}

pub(super) fn cidr(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [s] = arity::<1>("cidr", args)?;
    let s = want_str("cidr", s)?;
    parse_net(s)
        .map(Value::Cidr)
        .ok_or_else(|| format!("cidr: {s:?} is not a CIDR"))
}

pub(super) fn parse_ip(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [s] = arity::<1>("parse_ip", args)?;
    Ok(parse_addr(want_str("parse_ip", s)?).map_or(Value::Missing, Value::Ip))
}

pub(super) fn parse_cidr(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [s] = arity::<1>("parse_cidr", args)?;
    Ok(parse_net(want_str("parse_cidr", s)?).map_or(Value::Missing, Value::Cidr))
}

pub(super) fn cidr_contains(args: &[Value], _: &Ctx) -> Result<Value, String> {
    const NAME: &str = "cidr_contains";
    let [net, x] = arity::<2>(NAME, args)?;
    let net = want_cidr(NAME, net)?;
    Ok(Value::Bool(match x {
        Value::Ip(a) => net.contains(a),
        Value::Cidr(other) => net.contains(other),
        other => return Err(type_error(NAME, "an ip or a cidr", other)),
    }))
}

pub(super) fn cidr_overlaps(args: &[Value], _: &Ctx) -> Result<Value, String> {
    const NAME: &str = "cidr_overlaps";
    let [a, b] = arity::<2>(NAME, args)?;
    let (a, b) = (want_cidr(NAME, a)?, want_cidr(NAME, b)?);
    // Two prefixes overlap exactly when one contains the other's first address.
    Ok(Value::Bool(
        a.contains(&b.network()) || b.contains(&a.network()),
    ))
}

/// The private ranges: RFC 1918, RFC 4193, loopback and link-local. (Built
/// in a `const`, so a bad literal fails the build, never a run.)
const PRIVATE_V4: [Ipv4Net; 5] = [
    Ipv4Net::new_assert(Ipv4Addr::new(10, 0, 0, 0), 8),
    Ipv4Net::new_assert(Ipv4Addr::new(172, 16, 0, 0), 12),
    Ipv4Net::new_assert(Ipv4Addr::new(192, 168, 0, 0), 16),
    Ipv4Net::new_assert(Ipv4Addr::new(127, 0, 0, 0), 8),
    Ipv4Net::new_assert(Ipv4Addr::new(169, 254, 0, 0), 16),
];

const PRIVATE_V6: [Ipv6Net; 3] = [
    Ipv6Net::new_assert(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),
    Ipv6Net::new_assert(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
    Ipv6Net::new_assert(Ipv6Addr::LOCALHOST, 128),
];

/// Whether every address of `net` is in one private range. IPv4-mapped IPv6
/// networks (`::ffff:10.0.0.0/104`) are judged as the IPv4 network.
fn net_is_private(net: IpNet) -> bool {
    match net {
        IpNet::V4(n) => PRIVATE_V4.iter().any(|p| p.contains(&n)),
        IpNet::V6(n) => {
            // With a prefix of at least 96 bits, the whole network shares the
            // mapped prefix `::ffff:0:0/96` when its first address does.
            if n.prefix_len() >= 96
                && let Some(v4) = n.network().to_ipv4_mapped()
                && let Ok(n4) = Ipv4Net::new(v4, n.prefix_len() - 96)
            {
                return net_is_private(IpNet::V4(n4));
            }
            PRIVATE_V6.iter().any(|p| p.contains(&n))
        }
    }
}

pub(super) fn is_private(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [x] = arity::<1>("is_private", args)?;
    Ok(Value::Bool(match x {
        Value::Ip(a) => net_is_private(IpNet::from(*a)),
        Value::Cidr(n) => net_is_private(*n),
        other => return Err(type_error("is_private", "an ip or a cidr", other)),
    }))
}

pub(super) fn is_world(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [net] = arity::<1>("is_world", args)?;
    Ok(Value::Bool(want_cidr("is_world", net)?.prefix_len() == 0))
}

pub(super) fn prefix_len(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [net] = arity::<1>("prefix_len", args)?;
    Ok(Value::Int(i64::from(
        want_cidr("prefix_len", net)?.prefix_len(),
    )))
}

pub(super) fn cidr_size(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [net] = arity::<1>("cidr_size", args)?;
    let net = want_cidr("cidr_size", net)?;
    let host_bits = u32::from(net.max_prefix_len().saturating_sub(net.prefix_len()));
    Ok(Value::Int(if host_bits >= 63 {
        i64::MAX
    } else {
        1i64 << host_bits
    }))
}

pub(super) fn network(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [net] = arity::<1>("network", args)?;
    Ok(Value::Cidr(want_cidr("network", net)?.trunc()))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn ipv(x: &str) -> Value {
        Value::Ip(x.parse().unwrap())
    }

    fn net(x: &str) -> Value {
        Value::Cidr(x.parse().unwrap())
    }

    fn b(x: bool) -> Result<Value, String> {
        Ok(Value::Bool(x))
    }

    #[test]
    fn ip_parses_v4_and_v6() {
        assert_eq!(call("ip", &[s("10.0.0.1")]), Ok(ipv("10.0.0.1")));
        assert_eq!(call("ip", &[s("::1")]), Ok(ipv("::1")));
        assert_eq!(call("ip", &[s("2001:db8::7")]), Ok(ipv("2001:db8::7")));
        assert_err("ip", &[s("10.0.0")], "\"10.0.0\" is not an IP address");
        assert_err("ip", &[s("10.0.0.0/8")], "is not an IP address");
        assert_err("ip", &[s("")], "is not an IP address");
        assert_err("ip", &[Value::Int(1)], "expected a string, got an int");
    }

    #[test]
    fn cidr_parses_networks_and_bare_addresses() {
        assert_eq!(call("cidr", &[s("10.0.0.0/8")]), Ok(net("10.0.0.0/8")));
        assert_eq!(call("cidr", &[s("::/0")]), Ok(net("::/0")));
        assert_eq!(call("cidr", &[s("10.0.0.1")]), Ok(net("10.0.0.1/32")));
        assert_eq!(call("cidr", &[s("fe80::1")]), Ok(net("fe80::1/128")));
        assert_err("cidr", &[s("10.0.0/8")], "cidr: \"10.0.0/8\" is not a CIDR");
        assert_err("cidr", &[s("10.0.0.0/33")], "is not a CIDR");
        assert_err("cidr", &[s("::/129")], "is not a CIDR");
        assert_err("cidr", &[s("10.0.0.0/")], "is not a CIDR");
    }

    #[test]
    fn parse_functions_give_missing() {
        assert_eq!(call("parse_ip", &[s("10.0.0.1")]), Ok(ipv("10.0.0.1")));
        assert_eq!(call("parse_ip", &[s("10.0.0")]), Ok(Value::Missing));
        assert_eq!(
            call("parse_cidr", &[s("10.0.0.0/8")]),
            Ok(net("10.0.0.0/8"))
        );
        assert_eq!(call("parse_cidr", &[s("::1")]), Ok(net("::1/128")));
        assert_eq!(call("parse_cidr", &[s("10.0.0/8")]), Ok(Value::Missing));
        assert_err(
            "parse_ip",
            &[ipv("10.0.0.1")],
            "expected a string, got an ip",
        );
        assert_err("parse_cidr", &[Value::Missing], "got an absent value");
    }

    #[test]
    fn containment() {
        let ten = net("10.0.0.0/8");
        assert_eq!(
            call("cidr_contains", &[ten.clone(), ipv("10.20.30.40")]),
            b(true)
        );
        assert_eq!(
            call("cidr_contains", &[ten.clone(), ipv("11.0.0.1")]),
            b(false)
        );
        assert_eq!(
            call("cidr_contains", &[ten.clone(), net("10.1.0.0/16")]),
            b(true)
        );
        assert_eq!(
            call("cidr_contains", &[ten.clone(), net("0.0.0.0/0")]),
            b(false)
        );
        assert_eq!(call("cidr_contains", &[ten.clone(), ten.clone()]), b(true));
        assert_eq!(
            call("cidr_contains", &[net("::/0"), ipv("10.0.0.1")]),
            b(false)
        );
        assert_eq!(
            call("cidr_contains", &[net("::/0"), ipv("2001:db8::1")]),
            b(true)
        );
        assert_err(
            "cidr_contains",
            &[ten.clone(), s("10.0.0.1")],
            "expected an ip or a cidr",
        );
        assert_err(
            "cidr_contains",
            &[ipv("10.0.0.1"), ten],
            "expected a cidr, got an ip",
        );
    }

    #[test]
    fn overlaps() {
        let ov = |a: &str, x: &str| call("cidr_overlaps", &[net(a), net(x)]);
        assert_eq!(ov("10.0.0.0/16", "10.0.128.0/17"), b(true));
        assert_eq!(ov("10.0.128.0/17", "10.0.0.0/16"), b(true));
        assert_eq!(ov("10.0.0.0/24", "10.0.1.0/24"), b(false));
        assert_eq!(ov("0.0.0.0/0", "192.168.1.1/32"), b(true));
        // Host bits do not matter.
        assert_eq!(ov("10.0.0.77/24", "10.0.0.200/30"), b(true));
        assert_eq!(ov("::/0", "0.0.0.0/0"), b(false));
        assert_err(
            "cidr_overlaps",
            &[net("::/0"), ipv("::1")],
            "expected a cidr, got an ip",
        );
    }

    #[test]
    fn private_addresses_and_networks() {
        for a in [
            "10.1.2.3",
            "172.31.5.9",
            "192.168.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "fd00::1",
            "fe80::1",
            "::1",
            "::ffff:10.0.0.1",
        ] {
            assert_eq!(call("is_private", &[ipv(a)]), b(true), "{a}");
        }
        for a in [
            "8.8.8.8",
            "172.32.0.1",
            "100.64.0.1",
            "2001:db8::1",
            "::",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(call("is_private", &[ipv(a)]), b(false), "{a}");
        }
        assert_eq!(call("is_private", &[net("10.0.0.0/8")]), b(true));
        assert_eq!(call("is_private", &[net("10.0.0.0/7")]), b(false));
        assert_eq!(call("is_private", &[net("172.16.0.0/12")]), b(true));
        assert_eq!(call("is_private", &[net("0.0.0.0/0")]), b(false));
        assert_eq!(call("is_private", &[net("fd12:3456::/48")]), b(true));
        assert_eq!(
            call("is_private", &[net("::ffff:192.168.0.0/112")]),
            b(true)
        );
        assert_eq!(call("is_private", &[net("::ffff:0.0.0.0/96")]), b(false));
        assert_err(
            "is_private",
            &[s("10.0.0.1")],
            "expected an ip or a cidr, got a string",
        );
    }

    #[test]
    fn world_prefix_size_network() {
        assert_eq!(call("is_world", &[net("0.0.0.0/0")]), b(true));
        assert_eq!(call("is_world", &[net("::/0")]), b(true));
        assert_eq!(call("is_world", &[net("0.0.0.0/1")]), b(false));
        assert_eq!(call("prefix_len", &[net("10.0.0.0/8")]), Ok(Value::Int(8)));
        assert_eq!(call("prefix_len", &[net("::1/128")]), Ok(Value::Int(128)));
        assert_eq!(
            call("cidr_size", &[net("10.0.0.0/24")]),
            Ok(Value::Int(256))
        );
        assert_eq!(call("cidr_size", &[net("10.0.0.1/32")]), Ok(Value::Int(1)));
        assert_eq!(
            call("cidr_size", &[net("0.0.0.0/0")]),
            Ok(Value::Int(1 << 32))
        );
        assert_eq!(
            call("cidr_size", &[net("2001:db8::/64")]),
            Ok(Value::Int(i64::MAX))
        );
        assert_eq!(
            call("cidr_size", &[net("2001:db8::/66")]),
            Ok(Value::Int(1 << 62))
        );
        assert_eq!(call("network", &[net("10.1.2.3/8")]), Ok(net("10.0.0.0/8")));
        assert_eq!(
            call("network", &[net("2001:db8::7/32")]),
            Ok(net("2001:db8::/32"))
        );
        assert_err(
            "is_world",
            &[s("0.0.0.0/0")],
            "expected a cidr, got a string",
        );
        assert_err(
            "prefix_len",
            &[ipv("10.0.0.1")],
            "expected a cidr, got an ip",
        );
        assert_err("cidr_size", &[Value::Int(8)], "expected a cidr, got an int");
        assert_err("network", &[ipv("10.0.0.1")], "expected a cidr, got an ip");
    }
}
