//! HTTP servers on loopback for the end-to-end tests (std sockets, one thread each): a webhook
//! receiver that records every request and answers the statuses it is told to, then 200; and
//! a file server (a job's terms host).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One request received: its headers (names lower-cased) and body.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The status it was answered with.
    pub status: u16,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// The running receiver.
pub struct Webhook {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Webhook {
    /// Starts it; the first requests are answered with `first`, in order, then 200.
    pub fn start(first: &[u16]) -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let (log, script) = (received.clone(), first.to_vec());
        std::thread::spawn(move || {
            let mut script = script.into_iter();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut headers = Vec::new();
                let mut line = String::new();
                // request line, then headers until the blank line
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((n, v)) = line.trim_end().split_once(':') {
                        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
                    }
                }
                let len =
                    headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
                let mut body = vec![0; len];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let status = script.next().unwrap_or(200);
                log.lock().expect("log").push(Received {
                    headers,
                    body: String::from_utf8_lossy(&body).into(),
                    status,
                });
                let reason = if status == 200 { "OK" } else { "Error" };
                let _ = write!(stream, "HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        Webhook { url, received }
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("log").clone()
    }
}

/// Serves the files of a directory at `/<name>` (404 for anything else).
pub struct FileServer {
    /// `http://127.0.0.1:<port>/`: a file's URL is this and its name.
    pub base: String,
}

impl FileServer {
    /// Starts serving `dir`.
    pub fn start(dir: std::path::PathBuf) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}/", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let mut line = String::new();
                if BufReader::new(conn.try_clone().expect("clone")).read_line(&mut line).is_err() {
                    continue;
                }
                // "GET /name HTTP/1.1": only plain names inside the directory
                let name = line.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_string();
                let file = (!name.is_empty() && !name.contains('/') && !name.contains(".."))
                    .then(|| std::fs::read(dir.join(&name)).ok())
                    .flatten();
                let (status, body) = match file {
                    Some(body) => ("200 OK", body),
                    None => ("404 Not Found", Vec::new()),
                };
                let head = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                let _ = conn.write_all(head.as_bytes()).and_then(|()| conn.write_all(&body));
            }
        });
        FileServer { base }
    }
}
