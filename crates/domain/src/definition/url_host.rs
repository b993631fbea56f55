//! Addresses a definition's URLs may never name: link-local ones, where cloud metadata
//! services answer with the machine's credentials (169.254.169.254, fe80::/10), and the
//! metadata services' well-known names. Checked when a definition is read, so `tandem
//! check` says so; whether a name *resolves* to such an address is checked when Tandem
//! connects.

use std::net::IpAddr;

/// Host names of cloud metadata services.
const METADATA_HOSTS: &[&str] = &["metadata.google.internal", "metadata.goog", "metadata"];

/// The host of an `http(s)://` URL, without port, user info or brackets.
fn host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split_once(']').map(|(h, _)| h);
    }
    Some(authority.rsplit_once(':').map_or(authority, |(h, _)| h))
}

/// Whether `ip` is link-local (IPv4 169.254.0.0/16, IPv6 fe80::/10, or an IPv4 one mapped
/// into IPv6).
pub fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xffc0) == 0xfe80 || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_link_local())
        }
    }
}

/// Why `url` may not be used, if it may not.
pub fn forbidden(url: &str) -> Option<String> {
    let host = host(url)?.trim_end_matches('.').to_ascii_lowercase();
    if METADATA_HOSTS.contains(&host.as_str()) {
        return Some(format!(
            "{host} is a cloud metadata service; Tandem does not call it"
        ));
    }
    match host.parse::<IpAddr>() {
        Ok(ip) if is_link_local(ip) => Some(format!(
            "{ip} is a link-local address (where cloud metadata services answer); Tandem does not call it"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_local_and_metadata_hosts_are_refused_others_pass() {
        for bad in [
            "http://169.254.169.254/latest/meta-data/",
            "http://user:pw@169.254.1.1:8080/x",
            "http://[fe80::1]:80/",
            "http://[::ffff:169.254.169.254]/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "https://METADATA.google.internal./",
        ] {
            assert!(forbidden(bad).is_some(), "{bad}");
        }
        for good in [
            "http://127.0.0.1:8081/v1",
            "https://hooks.example.com/x?y=169.254.169.254",
            "http://[::1]:9000/",
            "https://api.openai.com/v1",
        ] {
            assert_eq!(forbidden(good), None, "{good}");
        }
    }
}
