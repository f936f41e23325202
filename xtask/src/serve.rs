//! A small static file server for the built site, on 127.0.0.1, mounted
//! under a base path the way GitHub Pages mounts a project site, with the
//! MIME types browsers insist on (`application/wasm`, `text/javascript`).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use shardlab_server::http::{self, Request, Response};

use crate::Result;

/// The site's server: a thread per connection (see
/// `shardlab_server::http` for why not a pool).
pub struct Server(http::Server);

impl Server {
    /// Starts serving `dir` under `base` on 127.0.0.1:`port` (0 picks a
    /// free port; see [`Server::port`]).
    pub fn start(dir: &Path, base: &str, port: u16) -> Result<Server> {
        let fail = |e: std::io::Error| format!("could not listen on 127.0.0.1:{port}: {e}");
        let site = Site {
            dir: dir.to_path_buf(),
            base: base.to_string(),
        };
        let listener = http::Server::listen(port).map_err(fail)?;
        let handler = Arc::new(move |request: Request| site.answer(&request));
        Ok(Server(
            http::Server::start(listener, handler).map_err(fail)?,
        ))
    }

    pub fn port(&self) -> u16 {
        self.0.port()
    }
}

pub fn serve_forever(dir: &Path, base: &str, port: u16) -> Result<()> {
    let server = Server::start(dir, base, port)?;
    println!(
        "\nShardlab is being served at http://127.0.0.1:{}{base}  (Ctrl+C stops it)",
        server.port()
    );
    server.0.wait();
    Ok(())
}

struct Site {
    dir: PathBuf,
    base: String,
}

impl Site {
    fn answer(&self, request: &Request) -> Response {
        let path = request.target.split(['?', '#']).next().unwrap_or("/");
        if request.method != "GET" && request.method != "HEAD" {
            return Response::new(
                405,
                format!("405: {} is not served here\n", request.method).into_bytes(),
            )
            .header("Allow", "GET, HEAD")
            .header("Content-Type", "text/plain; charset=utf-8");
        }
        match self.resolve(path) {
            Resolved::File(file) => match std::fs::read(&file) {
                Ok(bytes) => Response::new(200, bytes)
                    .header("Content-Type", mime(&file))
                    .header("Cache-Control", "no-cache"),
                Err(_) => not_found(path),
            },
            Resolved::Redirect(to) => Response::new(301, Vec::new()).header("Location", to),
            Resolved::NotFound => not_found(path),
        }
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

fn not_found(path: &str) -> Response {
    Response::new(
        404,
        format!("404: {path} is not part of the site\n").into_bytes(),
    )
    .header("Content-Type", "text/plain; charset=utf-8")
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
