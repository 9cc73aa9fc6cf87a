//! A minimal blocking HTTP/1.1 POST over `TcpStream`, for `http://` endpoints
//! only (a local Digital Post relay or test endpoint). Chosen over a client
//! crate to keep the dependency tree small and timeouts explicit; TLS to
//! SF1601 belongs in the relay.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// A parsed `http://host[:port]/path` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HttpUrl {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) path: String,
}

pub(crate) fn parse_url(url: &str) -> Result<HttpUrl, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("{url:?} is not an http:// URL (https is not supported: post to a local relay)")
    })?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if hostport.is_empty() || hostport.contains('@') {
        return Err(format!("{url:?} has no usable host"));
    }
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
            h.to_string(),
            p.parse::<u16>()
                .map_err(|_| format!("{url:?} has a bad port {p:?}"))?,
        ),
        _ => (hostport.to_string(), 80),
    };
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{url:?} has spaces or control characters in its path"
        ));
    }
    Ok(HttpUrl {
        host,
        port,
        path: path.to_string(),
    })
}

/// The outcome of one POST that reached a server.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body_start: String,
}

/// Sends one POST and reads the status. `Err` means no HTTP response
/// (connection refused, timeout, garbage).
pub(crate) fn post(
    url: &HttpUrl,
    body: &[u8],
    content_type: &str,
    extra: &[(&str, String)],
    timeout: Duration,
) -> Result<Response, String> {
    let addr = (
        url.host.trim_start_matches('[').trim_end_matches(']'),
        url.port,
    )
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", url.host))?
        .next()
        .ok_or_else(|| format!("{} resolves to no address", url.host))?;
    let mut s = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: marc-delivery\r\n",
        url.path,
        url.host,
        url.port,
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {}\r\n", v.replace(['\r', '\n'], " ")));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())
        .map_err(|e| format!("sending to {addr} failed: {e}"))?;
    s.write_all(body)
        .map_err(|e| format!("sending to {addr} failed: {e}"))?;
    s.flush()
        .map_err(|e| format!("sending to {addr} failed: {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // read the head (and a little body) — at most 64 KiB
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > 65536 {
                    break;
                }
            }
            Err(e) if buf.is_empty() => return Err(format!("no response from {addr}: {e}")),
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status_line = head.lines().next().unwrap_or("");
    let mut parts = status_line.split_whitespace();
    let proto = parts.next().unwrap_or("");
    let status = parts.next().and_then(|c| c.parse::<u16>().ok());
    match status {
        Some(status) if proto.starts_with("HTTP/1.") => Ok(Response {
            status,
            head: status_line.to_string(),
            body_start: body.chars().take(200).collect(),
        }),
        _ => Err(format!(
            "{addr} did not answer with HTTP: {:?}",
            status_line.chars().take(80).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://127.0.0.1:8080/memo").unwrap(),
            HttpUrl {
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/memo".into()
            }
        );
        assert_eq!(parse_url("http://localhost").unwrap().port, 80);
        assert!(parse_url("https://x")
            .unwrap_err()
            .contains("https is not supported"));
        assert!(parse_url("http://h:99999/").is_err());
        assert!(parse_url("http:///x").is_err());
    }
}
