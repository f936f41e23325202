//! A small static file server for the built site, on 127.0.0.1, mounted
//! under a base path the way GitHub Pages mounts a project site, with the
//! MIME types browsers insist on (`application/wasm`, `text/javascript`).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use tiny_http::{Header, Request, Response, StatusCode};

use crate::Result;

pub struct Server {
    http: Arc<tiny_http::Server>,
    port: u16,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Starts serving `dir` under `base` on 127.0.0.1:`port` (0 picks a
    /// free port; see [`Server::port`]).
    pub fn start(dir: &Path, base: &str, port: u16) -> Result<Server> {
        let http = tiny_http::Server::http(("127.0.0.1", port))
            .map_err(|e| format!("could not listen on 127.0.0.1:{port}: {e}"))?;
        let port = http
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or("the server is not on an IP address")?;
        let http = Arc::new(http);
        let site = Arc::new(Site {
            dir: dir.to_path_buf(),
            base: base.to_string(),
        });
        let threads = (0..4)
            .map(|_| {
                let http = http.clone();
                let site = site.clone();
                std::thread::spawn(move || {
                    while let Ok(request) = http.recv() {
                        site.answer(request);
                    }
                })
            })
            .collect();
        Ok(Server {
            http,
            port,
            threads,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for _ in &self.threads {
            self.http.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

pub fn serve_forever(dir: &Path, base: &str, port: u16) -> Result<()> {
    let server = Server::start(dir, base, port)?;
    println!(
        "\nShardlab is being served at http://127.0.0.1:{}{base}  (Ctrl+C stops it)",
        server.port()
    );
    for t in std::mem::take(&mut { server }.threads) {
        let _ = t.join();
    }
    Ok(())
}

struct Site {
    dir: PathBuf,
    base: String,
}

impl Site {
    fn answer(&self, request: Request) {
        let path = request
            .url()
            .split(['?', '#'])
            .next()
            .unwrap_or("/")
            .to_string();
        let response = match self.resolve(&path) {
            Resolved::File(file) => match std::fs::read(&file) {
                Ok(bytes) => Response::from_data(bytes)
                    .with_header(header("Content-Type", mime(&file)))
                    .with_header(header("Cache-Control", "no-cache")),
                Err(_) => not_found(&path),
            },
            Resolved::Redirect(to) => Response::from_data(Vec::new())
                .with_status_code(StatusCode(301))
                .with_header(header("Location", &to)),
            Resolved::NotFound => not_found(&path),
        };
        let _ = request.respond(response);
    }

    fn resolve(&self, path: &str) -> Resolved {
        if self.base != "/" && (path == "/" || path == self.base.trim_end_matches('/')) {
            return Resolved::Redirect(self.base.clone());
        }
        let Some(rest) = path.strip_prefix(&self.base) else {
            return Resolved::NotFound;
        };
        let relative = Path::new(rest);
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Resolved::NotFound;
        }
        let mut file = self.dir.join(relative);
        if rest.is_empty() || rest.ends_with('/') {
            file = file.join("index.html");
        }
        if file.is_file() {
            Resolved::File(file)
        } else {
            Resolved::NotFound
        }
    }
}

enum Resolved {
    File(PathBuf),
    Redirect(String),
    NotFound,
}

fn not_found(path: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_string(format!("404: {path} is not part of the site\n"))
        .with_status_code(StatusCode(404))
        .with_header(header("Content-Type", "text/plain; charset=utf-8"))
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

pub fn mime(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "md" => "text/markdown; charset=utf-8",
        "txt" | "csv" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> (tempdir::Dir, Site) {
        let dir = tempdir::Dir::new();
        std::fs::write(dir.0.join("index.html"), "<p>hi</p>").unwrap();
        std::fs::create_dir(dir.0.join("pkg")).unwrap();
        std::fs::write(dir.0.join("pkg/a.wasm"), b"\0asm").unwrap();
        let site = Site {
            dir: dir.0.clone(),
            base: "/shardlab/".into(),
        };
        (dir, site)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                let p = std::env::temp_dir().join(format!(
                    "xtask-serve-test-{}-{:?}",
                    std::process::id(),
                    std::thread::current().id()
                ));
                let _ = std::fs::remove_dir_all(&p);
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn files_resolve_under_the_base_only() {
        let (dir, s) = site();
        assert!(
            matches!(s.resolve("/shardlab/"), Resolved::File(f) if f == dir.0.join("index.html"))
        );
        assert!(
            matches!(s.resolve("/shardlab/pkg/a.wasm"), Resolved::File(f) if f == dir.0.join("pkg/a.wasm"))
        );
        assert!(matches!(s.resolve("/shardlab"), Resolved::Redirect(to) if to == "/shardlab/"));
        assert!(matches!(s.resolve("/"), Resolved::Redirect(_)));
        assert!(matches!(s.resolve("/pkg/a.wasm"), Resolved::NotFound));
        assert!(matches!(
            s.resolve("/shardlab/../secret"),
            Resolved::NotFound
        ));
        assert!(matches!(s.resolve("/shardlab/nope.js"), Resolved::NotFound));
    }

    #[test]
    fn browsers_get_the_mime_types_they_require() {
        assert_eq!(mime(Path::new("x_bg.wasm")), "application/wasm");
        assert!(mime(Path::new("a.js")).starts_with("text/javascript"));
        assert!(mime(Path::new("index.html")).starts_with("text/html"));
    }
}
