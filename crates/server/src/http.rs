//! HTTP/1.1 for the endpoint and for `cargo xtask serve`: one thread per
//! connection, requests parsed by the `httparse` crate, keep-alive, bodies
//! by `Content-Length` or chunked, `Expect: 100-continue`.
//!
//! Why not a pooled server: with a fixed or lazily grown pool, a browser
//! that keeps idle keep-alive connections open (Chromium keeps six per
//! host) can leave a new connection waiting for a free thread. The
//! `tiny_http` crate we used before lost connections this way: its pool
//! could count a thread as idle after it had been handed a connection, and
//! the next connection then waited until some other connection closed,
//! which stalled page loads in the end-to-end tests. Here every accepted
//! connection has a thread at once; a test below holds connections open
//! while bursts of new ones arrive, and every one is answered.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The most a request's head (request line and headers) may take.
const MAX_HEAD: usize = 64 * 1024;
/// The most a request's body may take: Kinesis and Firehose calls are a few
/// MiB at most (PutRecords ≤ 5 MiB of data, base64 in JSON).
pub const MAX_BODY: usize = 32 * 1024 * 1024;
/// An idle keep-alive connection is closed after this long.
const IDLE: Duration = Duration::from_secs(120);

/// One request, its body read.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// The request target as sent: path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a handler sends back.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

pub enum Body {
    /// The whole body; `Content-Length` is added.
    Bytes(Vec<u8>),
    /// A body the handler writes itself after the head, for as long as it
    /// likes (an event stream); its headers say how it is framed
    /// (`Transfer-Encoding: chunked`). The connection closes after it.
    Stream(WriteBody),
}

impl Response {
    pub fn new(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::Bytes(body),
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// Writes a streamed body to the connection.
pub type WriteBody = Box<dyn FnOnce(&mut dyn Write) + Send>;

pub type Handler = dyn Fn(Request) -> Response + Send + Sync;

/// A running server; dropping it stops accepting new connections. Open
/// connections are not cut: each ends when its client closes it, after its
/// next response, or after [`IDLE`] without a request.
pub struct Server {
    address: std::net::SocketAddr,
    port: u16,
    stopping: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `listener` with `handler`, a thread per connection.
    pub fn start(listener: TcpListener, handler: Arc<Handler>) -> std::io::Result<Server> {
        let address = listener.local_addr()?;
        let port = address.port();
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = stopping.clone();
        let accept = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::Acquire) {
                    break;
                }
                let stream = match stream {
                    Ok(stream) => stream,
                    Err(e) => {
                        // Out of file descriptors, say: back off instead of
                        // spinning, and try again.
                        eprintln!("shardlab: could not accept a connection: {e}");
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                };
                let handler = handler.clone();
                let stop = stop.clone();
                let spawned = std::thread::Builder::new()
                    .spawn(move || serve_connection(stream, &*handler, &stop));
                if let Err(e) = spawned {
                    // The connection is dropped (closed); the server goes on.
                    eprintln!("shardlab: no thread for a connection: {e}");
                }
            }
        });
        Ok(Server {
            address,
            port,
            stopping,
            accept: Some(accept),
        })
    }

    /// A listener on 127.0.0.1:`port` (0 picks a free port).
    pub fn listen(port: u16) -> std::io::Result<TcpListener> {
        TcpListener::bind(("127.0.0.1", port))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Blocks until the server stops (it does not stop by itself).
    pub fn wait(mut self) {
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Release);
        if let Some(t) = self.accept.take() {
            // The accept loop is blocked in accept(): a connection wakes it.
            let _ = TcpStream::connect(self.address);
            let _ = t.join();
        }
    }
}

fn serve_connection(stream: TcpStream, handler: &Handler, stopping: &AtomicBool) {
    // Without it a response's body waits behind its head for the client's
    // delayed ACK, 40 ms per request.
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IDLE));
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut out = write_half;
    let mut input = BufReader::new(stream);
    loop {
        let request = match read_request(&mut input, &mut out) {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(Refused { status, message }) => {
                let _ = write_response(
                    &mut out,
                    "GET",
                    Response::new(status, message.into_bytes())
                        .header("Content-Type", "text/plain; charset=utf-8"),
                    false,
                );
                break;
            }
        };
        let keep_alive = wants_keep_alive(&request) && !stopping.load(Ordering::Acquire);
        let method = request.method.clone();
        let response = handler(request);
        match write_response(&mut out, &method, response, keep_alive) {
            Ok(true) => {}
            _ => break,
        }
    }
    let _ = out.shutdown(Shutdown::Both);
}

fn wants_keep_alive(request: &Request) -> bool {
    let connection = request
        .header("Connection")
        .unwrap_or("")
        .to_ascii_lowercase();
    !connection.contains("close")
}

struct Refused {
    status: u16,
    message: String,
}

fn refused(status: u16, message: impl Into<String>) -> Refused {
    Refused {
        status,
        message: message.into(),
    }
}

/// Reads the next request; `None` when the client closed the connection
/// (or was idle too long) between requests.
fn read_request(
    input: &mut BufReader<TcpStream>,
    out: &mut TcpStream,
) -> Result<Option<Request>, Refused> {
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let room = (MAX_HEAD + 1).saturating_sub(head.len()) as u64;
        match input.by_ref().take(room).read_until(b'\n', &mut head) {
            Ok(0) if head.is_empty() => return Ok(None),
            Ok(0) => return Err(refused(400, "the request ended inside its head")),
            Ok(_) => {}
            Err(_) if head.is_empty() => return Ok(None),
            Err(_) => return Err(refused(408, "the request's head did not arrive in time")),
        }
        if head.len() > MAX_HEAD {
            return Err(refused(431, "the request's head is larger than 64 KiB"));
        }
        // Blank lines before a request line are allowed (RFC 9112 2.2).
        if before == 0 && (head == b"\r\n" || head == b"\n") {
            head.clear();
            continue;
        }
        if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") {
            break;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(refused(400, "the request's head is cut short"))
        }
        Err(e) => return Err(refused(400, format!("this is not an HTTP request: {e}"))),
    }
    let http_10 = parsed.version == Some(0);
    let mut request = Request {
        method: parsed.method.unwrap_or("GET").to_string(),
        target: parsed.path.unwrap_or("/").to_string(),
        headers: parsed
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        body: Vec::new(),
    };
    if http_10
        && !request
            .header("Connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("keep-alive"))
    {
        request
            .headers
            .push(("Connection".to_string(), "close".to_string()));
    }
    let chunked = request
        .header("Transfer-Encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    let length = match request.header("Content-Length") {
        Some(v) if !chunked => {
            let n: usize = v
                .trim()
                .parse()
                .map_err(|_| refused(400, format!("Content-Length `{v}` is not a number")))?;
            if n > MAX_BODY {
                return Err(refused(413, "the request's body is larger than 32 MiB"));
            }
            Some(n)
        }
        _ => None,
    };
    // The client waits for this before it sends the body (a body too large
    // was refused above, before it was sent).
    if request
        .header("Expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        let _ = out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    if chunked {
        request.body = read_chunked(input)?;
    } else if let Some(length) = length {
        request.body = vec![0; length];
        input
            .read_exact(&mut request.body)
            .map_err(|_| refused(400, "the request's body is shorter than its Content-Length"))?;
    }
    Ok(Some(request))
}

/// Reads a line of at most [`MAX_HEAD`] bytes.
fn read_short_line(input: &mut BufReader<TcpStream>, line: &mut String) -> std::io::Result<usize> {
    let n = input.by_ref().take(MAX_HEAD as u64).read_line(line)?;
    if n == MAX_HEAD && !line.ends_with('\n') {
        return Err(std::io::Error::other("line too long"));
    }
    Ok(n)
}

fn read_chunked(input: &mut BufReader<TcpStream>) -> Result<Vec<u8>, Refused> {
    let cut = || refused(400, "the request's chunked body is cut short or malformed");
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        read_short_line(input, &mut line).map_err(|_| cut())?;
        let size = line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size.trim(), 16).map_err(|_| cut())?;
        if size == 0 {
            // Trailers, then the blank line.
            loop {
                line.clear();
                if read_short_line(input, &mut line).map_err(|_| cut())? == 0
                    || line.trim().is_empty()
                {
                    return Ok(body);
                }
            }
        }
        if size > MAX_BODY - body.len() {
            return Err(refused(413, "the request's body is larger than 32 MiB"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        input.read_exact(&mut body[start..]).map_err(|_| cut())?;
        let mut crlf = [0; 2];
        input.read_exact(&mut crlf).map_err(|_| cut())?;
    }
}

/// Writes a response; `Ok(true)` when the connection stays open.
fn write_response(
    out: &mut TcpStream,
    method: &str,
    response: Response,
    keep_alive: bool,
) -> std::io::Result<bool> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    match response.body {
        Body::Bytes(body) => {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
            head.push_str(if keep_alive {
                "Connection: keep-alive\r\n\r\n"
            } else {
                "Connection: close\r\n\r\n"
            });
            let mut bytes = head.into_bytes();
            if method != "HEAD" {
                bytes.extend_from_slice(&body);
            }
            out.write_all(&bytes)?;
            out.flush()?;
            Ok(keep_alive)
        }
        Body::Stream(write) => {
            head.push_str("Connection: close\r\n\r\n");
            out.write_all(head.as_bytes())?;
            out.flush()?;
            if method != "HEAD" {
                write(out);
            }
            Ok(false)
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        416 => "Range Not Satisfiable",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo() -> Server {
        let handler: Arc<Handler> = Arc::new(|r: Request| {
            let text = format!("{} {} {}", r.method, r.target, r.body.len());
            Response::new(200, text.into_bytes()).header("Content-Type", "text/plain")
        });
        Server::start(Server::listen(0).unwrap(), handler).unwrap()
    }

    fn connect(server: &Server) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        // A failure, not a hang, if a request is never answered.
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    }

    /// Reads one response with a Content-Length body: (status line, body).
    fn read_response(input: &mut BufReader<TcpStream>) -> (String, String) {
        let mut status = String::new();
        input.read_line(&mut status).unwrap();
        let mut length = 0;
        loop {
            let mut line = String::new();
            input.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        input.read_exact(&mut body).unwrap();
        (status.trim().to_string(), String::from_utf8(body).unwrap())
    }

    fn get(stream: &mut TcpStream, path: &str) {
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    }

    #[test]
    fn new_connections_are_answered_while_others_stay_open() {
        let server = echo();
        // Six idle keep-alive connections, as a browser keeps them.
        let mut held = Vec::new();
        for i in 0..6 {
            let mut s = connect(&server);
            get(&mut s, &format!("/held/{i}"));
            let mut input = BufReader::new(s.try_clone().unwrap());
            assert_eq!(read_response(&mut input).1, format!("GET /held/{i} 0"));
            held.push((s, input));
        }
        // Bursts of connections opened together, each with one request,
        // each after two short connections that leave their threads idle
        // (a pool that counted those threads twice lost connections here).
        for round in 0..30 {
            for _ in 0..2 {
                let mut s = connect(&server);
                get(&mut s, "/short");
                read_response(&mut BufReader::new(s));
            }
            let mut burst: Vec<TcpStream> = (0..8).map(|_| connect(&server)).collect();
            for (i, s) in burst.iter_mut().enumerate() {
                get(s, &format!("/burst/{round}/{i}"));
            }
            for (i, s) in burst.into_iter().enumerate() {
                let mut input = BufReader::new(s);
                let (status, body) = read_response(&mut input);
                assert_eq!(status, "HTTP/1.1 200 OK");
                assert_eq!(body, format!("GET /burst/{round}/{i} 0"));
            }
        }
        // The held connections still work.
        for (i, (s, input)) in held.iter_mut().enumerate() {
            get(s, &format!("/again/{i}"));
            assert_eq!(read_response(input).1, format!("GET /again/{i} 0"));
        }
    }

    #[test]
    fn bodies_by_length_chunked_and_after_100_continue() {
        let server = echo();
        let mut s = connect(&server);
        let mut input = BufReader::new(s.try_clone().unwrap());
        write!(s, "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!(read_response(&mut input).1, "POST /a 5");
        write!(
            s,
            "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\nT: 1\r\n\r\n"
        )
        .unwrap();
        assert_eq!(read_response(&mut input).1, "POST /b 7");
        write!(
            s,
            "POST /c HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        )
        .unwrap();
        let mut line = String::new();
        input.read_line(&mut line).unwrap();
        assert_eq!(line, "HTTP/1.1 100 Continue\r\n");
        input.read_line(&mut line).unwrap();
        write!(s, "ok").unwrap();
        assert_eq!(read_response(&mut input).1, "POST /c 2");
    }

    #[test]
    fn bad_requests_get_an_error_and_the_connection_closes() {
        let server = echo();
        for (request, status) in [
            ("NOT HTTP AT ALL\r\n\r\n", "HTTP/1.1 400 Bad Request"),
            (
                "POST / HTTP/1.1\r\nContent-Length: lots\r\n\r\n",
                "HTTP/1.1 400 Bad Request",
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n",
                "HTTP/1.1 413 Content Too Large",
            ),
        ] {
            let mut s = connect(&server);
            s.write_all(request.as_bytes()).unwrap();
            let mut input = BufReader::new(s);
            assert_eq!(read_response(&mut input).0, status);
            let mut rest = Vec::new();
            assert_eq!(
                input.read_to_end(&mut rest).unwrap(),
                0,
                "closed after {request:?}"
            );
        }
    }

    #[test]
    fn pipelined_requests_and_head() {
        let server = echo();
        let mut s = connect(&server);
        let mut input = BufReader::new(s.try_clone().unwrap());
        // Two requests in one write: two responses, in order.
        s.write_all(b"GET /one HTTP/1.1\r\n\r\nPOST /two HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
            .unwrap();
        assert_eq!(read_response(&mut input).1, "GET /one 0");
        assert_eq!(read_response(&mut input).1, "POST /two 3");
        // HEAD: the length of the body GET would send, and no body.
        s.write_all(b"HEAD /three HTTP/1.1\r\n\r\nGET /four HTTP/1.1\r\n\r\n")
            .unwrap();
        let mut status = String::new();
        input.read_line(&mut status).unwrap();
        assert_eq!(status, "HTTP/1.1 200 OK\r\n");
        let mut length = None;
        loop {
            let mut line = String::new();
            input.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                length = Some(v.trim().to_string());
            }
        }
        assert_eq!(
            length.as_deref(),
            Some("13"),
            "the length of `HEAD /three 0`"
        );
        assert_eq!(read_response(&mut input).1, "GET /four 0");
    }

    #[test]
    fn oversized_input_is_refused_without_a_panic() {
        let server = echo();
        // A chunk size that would overflow the body's length.
        let mut s = connect(&server);
        s.write_all(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n")
            .unwrap();
        assert_eq!(
            read_response(&mut BufReader::new(s)).0,
            "HTTP/1.1 413 Content Too Large"
        );
        // A body announced too large is refused before any 100 Continue.
        let mut s = connect(&server);
        s.write_all(
            b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 99999999999\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            read_response(&mut BufReader::new(s)).0,
            "HTTP/1.1 413 Content Too Large"
        );
        // A head line without an end.
        let mut s = connect(&server);
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_HEAD + 10));
        s.write_all(long.as_bytes()).unwrap();
        assert_eq!(
            read_response(&mut BufReader::new(s)).0,
            "HTTP/1.1 431 Request Header Fields Too Large"
        );
        // The server still answers.
        let mut s = connect(&server);
        get(&mut s, "/after");
        assert_eq!(read_response(&mut BufReader::new(s)).1, "GET /after 0");
    }

    #[test]
    fn connection_close_and_http_10_close_after_the_response() {
        let server = echo();
        for request in [
            "GET /x HTTP/1.1\r\nConnection: close\r\n\r\n",
            "GET /x HTTP/1.0\r\n\r\n",
        ] {
            let mut s = connect(&server);
            s.write_all(request.as_bytes()).unwrap();
            let mut input = BufReader::new(s);
            assert_eq!(read_response(&mut input).1, "GET /x 0");
            let mut rest = Vec::new();
            assert_eq!(input.read_to_end(&mut rest).unwrap(), 0);
        }
    }
}
