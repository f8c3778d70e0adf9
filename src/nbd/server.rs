//! The server: a Unix socket or a TCP listener ([`Listen`]), the accept loop (a thread per
//! connection, until the caller's stop flag is set), and the transmission phase of one
//! connection: each request checked against the export and answered with a simple or a
//! structured reply. A client that breaks the protocol loses its connection; the server and
//! the other connections go on.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::handshake::{self, Agreed};
use super::request::*;
use super::structured::{self, BASE_ALLOCATION_ID, DONE, MAX_EXTENTS, STATE_HOLE_ZERO};
use super::{Export, MAX_REQUEST};
use crate::error::{Error, Result};

/// The most connections served at once; more are closed as they come.
const MAX_CONNECTIONS: usize = 64;

/// How often the accept loop looks at the stop flag while no client connects.
const POLL: Duration = Duration::from_millis(50);

/// Where the server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    /// A Unix socket created at this path (it must not exist), removed at the end.
    Unix(PathBuf),
    /// A TCP address.
    Tcp(SocketAddr),
}

enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// One client's connection.
enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    fn try_clone(&self) -> io::Result<Conn> {
        Ok(match self {
            Conn::Unix(s) => Conn::Unix(s.try_clone()?),
            Conn::Tcp(s) => Conn::Tcp(s.try_clone()?),
        })
    }
    fn shutdown(&self) {
        let _ = match self {
            Conn::Unix(s) => s.shutdown(Shutdown::Both),
            Conn::Tcp(s) => s.shutdown(Shutdown::Both),
        };
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.write(buf),
            Conn::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A bound server, ready to run.
pub struct Server {
    listener: Listener,
    export: Arc<Export>,
    uri: String,
    /// The socket file to remove at the end.
    socket: Option<PathBuf>,
}

impl Server {
    /// Binds `listen` for `export`: a socket path that exists or an address in use is an
    /// error, and nothing is left behind.
    pub fn bind(listen: &Listen, export: Export) -> Result<Server> {
        let query = match export.name() {
            "" => String::new(),
            name => percent_encode(name),
        };
        let (listener, uri, socket) = match listen {
            Listen::Unix(path) => {
                let shown = path.display().to_string();
                if path.symlink_metadata().is_ok() {
                    return Err(Error::Usage(format!(
                        "serve: {shown}: the socket path exists; remove it or choose another"
                    )));
                }
                let l = UnixListener::bind(path).map_err(|e| Error::io(shown.clone(), e))?;
                let abs = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                let uri = format!(
                    "nbd+unix:///{query}?socket={}",
                    percent_encode(&abs.display().to_string())
                );
                (Listener::Unix(l), uri, Some(path.clone()))
            }
            Listen::Tcp(addr) => {
                let l = TcpListener::bind(addr).map_err(|e| match e.kind() {
                    io::ErrorKind::AddrInUse => Error::Usage(format!(
                        "serve: {addr}: the address is in use (another server?); choose \
                         another port"
                    )),
                    _ => Error::io(addr.to_string(), e),
                })?;
                let bound = l.local_addr().map_err(|e| Error::io(addr.to_string(), e))?;
                let tail = if query.is_empty() {
                    String::new()
                } else {
                    format!("/{query}")
                };
                (Listener::Tcp(l), format!("nbd://{bound}{tail}"), None)
            }
        };
        let server = Server {
            listener,
            export: Arc::new(export),
            uri,
            socket,
        };
        server
            .set_nonblocking(true)
            .map_err(|e| Error::io(server.uri.clone(), e))?;
        Ok(server)
    }

    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match &self.listener {
            Listener::Unix(l) => l.set_nonblocking(on),
            Listener::Tcp(l) => l.set_nonblocking(on),
        }
    }

    /// The NBD URI clients connect to (`nbd+unix:///?socket=PATH`, `nbd://127.0.0.1:10809`).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Waits until a client connects, or [`POLL`] passes (the stop flag is looked at then).
    fn wait_for_client(&self) {
        let fd = match &self.listener {
            Listener::Unix(l) => l.as_fd(),
            Listener::Tcp(l) => l.as_fd(),
        };
        let timeout = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: POLL.as_nanos() as _,
        };
        let mut fds = [rustix::event::PollFd::new(
            &fd,
            rustix::event::PollFlags::IN,
        )];
        // An error (a signal) only ends the wait early.
        let _ = rustix::event::poll(&mut fds, Some(&timeout));
    }

    fn accept(&self) -> io::Result<Conn> {
        let conn = match &self.listener {
            Listener::Unix(l) => Conn::Unix(l.accept()?.0),
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                s.set_nodelay(true)?;
                Conn::Tcp(s)
            }
        };
        match &conn {
            Conn::Unix(s) => s.set_nonblocking(false)?,
            Conn::Tcp(s) => s.set_nonblocking(false)?,
        }
        Ok(conn)
    }

    /// Serves clients, a thread each, until `stop` is set; then closes their connections and
    /// waits for their threads. Problems with one client are reported on standard error.
    pub fn run(&self, stop: &AtomicBool) -> Result<()> {
        let mut clients: Vec<(Conn, JoinHandle<()>)> = Vec::new();
        let mut next_id = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let conn = match self.accept() {
                Ok(conn) => conn,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    clients.retain(|(_, t)| !t.is_finished());
                    self.wait_for_client();
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    eprintln!("isofish: serve: accepting a connection: {e}");
                    std::thread::sleep(POLL);
                    continue;
                }
            };
            next_id += 1;
            clients.retain(|(_, t)| !t.is_finished());
            if clients.len() >= MAX_CONNECTIONS {
                eprintln!(
                    "isofish: serve: client {next_id}: refused, {MAX_CONNECTIONS} connections \
                     already open"
                );
                conn.shutdown();
                continue;
            }
            let Ok(kept) = conn.try_clone() else {
                continue;
            };
            let export = self.export.clone();
            let id = next_id;
            let thread = std::thread::Builder::new()
                .name(format!("nbd-client-{id}"))
                .spawn(move || {
                    if let Err(e) = connection(conn, &export) {
                        eprintln!("isofish: serve: client {id}: {e}; connection closed");
                    }
                });
            match thread {
                Ok(t) => clients.push((kept, t)),
                Err(e) => eprintln!("isofish: serve: client {id}: no thread for it: {e}"),
            }
        }
        for (conn, _) in &clients {
            conn.shutdown();
        }
        for (_, thread) in clients {
            let _ = thread.join();
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(path) = &self.socket {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// `%`-escapes the bytes of `s` that a URI's path or query cannot hold as they are.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One connection: the handshake, then requests until the client disconnects. A closed
/// connection is the end, not an error.
fn connection(conn: Conn, export: &Export) -> io::Result<()> {
    let mut r = BufReader::new(conn.try_clone()?);
    let mut w = BufWriter::with_capacity(256 << 10, conn);
    let run = handshake::negotiate(&mut r, &mut w, export).and_then(|agreed| match agreed {
        Some(agreed) => Transmission {
            export,
            agreed,
            buf: Vec::new(),
        }
        .run(&mut r, &mut w),
        None => Ok(()),
    });
    match run {
        Err(e) if gone(&e) => Ok(()),
        other => other,
    }
}

/// True for the errors of a client that went away.
fn gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
    )
}

/// A request's failure: the error number and a message for the user.
struct Refusal(u32, String);

/// The transmission phase of one connection.
struct Transmission<'a> {
    export: &'a Export,
    agreed: Agreed,
    /// The read and write buffer, grown to the largest request served (at most
    /// [`MAX_REQUEST`]).
    buf: Vec<u8>,
}

impl Transmission<'_> {
    fn run(&mut self, r: &mut impl Read, w: &mut impl Write) -> io::Result<()> {
        while let Some(req) = Request::read(r)? {
            if req.kind == CMD_DISC {
                return Ok(());
            }
            match req.kind {
                CMD_READ => self.read(&req, w)?,
                CMD_WRITE => {
                    let done = self.write(&req, r);
                    self.status(w, &req, done)?
                }
                CMD_BLOCK_STATUS => self.block_status(&req, w)?,
                _ => {
                    let done = self.other(&req);
                    self.status(w, &req, done)?
                }
            }
            w.flush()?;
        }
        Ok(())
    }

    /// Checks that the request's range lies in the export and its length is served.
    fn check_range(&self, req: &Request, past_end: u32) -> std::result::Result<u64, Refusal> {
        let end = req.end_within(self.export.len()).ok_or_else(|| {
            Refusal(
                past_end,
                format!(
                    "{} bytes at offset {} pass the end of the export ({} bytes)",
                    req.len,
                    req.offset,
                    self.export.len()
                ),
            )
        })?;
        Ok(end)
    }

    fn too_long(req: &Request) -> std::result::Result<(), Refusal> {
        if req.len > MAX_REQUEST {
            return Err(Refusal(
                EINVAL,
                format!("{} bytes asked at once; at most {MAX_REQUEST}", req.len),
            ));
        }
        Ok(())
    }

    /// Sends the outcome of a request without data: a simple reply, or with structured
    /// replies an empty final chunk or an error chunk.
    fn status(
        &self,
        w: &mut impl Write,
        req: &Request,
        outcome: std::result::Result<(), Refusal>,
    ) -> io::Result<()> {
        match (outcome, self.agreed.structured) {
            (Ok(()), false) => simple_reply(w, req.cookie, 0)?,
            (Ok(()), true) => structured::done(w, req.cookie)?,
            (Err(Refusal(errno, _)), false) => simple_reply(w, req.cookie, errno)?,
            (Err(Refusal(errno, msg)), true) => structured::error(w, req.cookie, errno, &msg)?,
        }
        Ok(())
    }

    /// `NBD_CMD_READ`: the data, as a simple reply, or as structured chunks (data and holes,
    /// or one data chunk when the client asked for no fragments).
    fn read(&mut self, req: &Request, w: &mut impl Write) -> io::Result<()> {
        let checked = Self::too_long(req)
            .and_then(|()| self.check_range(req, EINVAL))
            .and_then(|_| {
                self.buf.resize(req.len as usize, 0);
                self.export
                    .read(req.offset, &mut self.buf)
                    .map_err(|e| Refusal(EIO, e.to_string()))
            });
        if let Err(refusal) = checked {
            return self.status(w, req, Err(refusal));
        }
        let data = &self.buf[..req.len as usize];
        if req.len == 0 {
            return self.status(w, req, Ok(()));
        }
        if !self.agreed.structured {
            simple_reply(w, req.cookie, 0)?;
            return w.write_all(data);
        }
        let end = req.offset + u64::from(req.len);
        let extents = match req.flags & FLAG_DF != 0 {
            true => vec![(u64::from(req.len), false)],
            false => self.export.extents(req.offset, end, usize::MAX)?,
        };
        let mut at = req.offset;
        for (i, &(len, zero)) in extents.iter().enumerate() {
            let flags = if i + 1 == extents.len() { DONE } else { 0 };
            let within = (at - req.offset) as usize;
            match zero {
                true => structured::hole(w, req.cookie, flags, at, len as u32)?,
                false => structured::data(
                    w,
                    req.cookie,
                    flags,
                    at,
                    &data[within..within + len as usize],
                )?,
            }
            at += len;
        }
        Ok(())
    }

    /// `NBD_CMD_WRITE`: the data is read in any case (the stream stays in step), then written
    /// to the overlay, or refused.
    fn write(&mut self, req: &Request, r: &mut impl Read) -> std::result::Result<(), Refusal> {
        if req.len > MAX_REQUEST {
            // Skipped a bounded buffer at a time; a client that never sends it is gone.
            io::copy(&mut r.take(u64::from(req.len)), &mut io::sink())
                .map_err(|e| Refusal(EIO, e.to_string()))?;
            return Self::too_long(req);
        }
        self.buf.resize(req.len as usize, 0);
        r.read_exact(&mut self.buf)
            .map_err(|e| Refusal(EIO, e.to_string()))?;
        if !self.export.is_writable() {
            return Err(Refusal(EPERM, "the export is read-only".into()));
        }
        self.check_range(req, ENOSPC)?;
        self.export
            .write(req.offset, &self.buf)
            .map_err(|e| Refusal(EIO, e.to_string()))
    }

    /// The commands without data: flush, trim, write zeroes, and the unknown.
    fn other(&self, req: &Request) -> std::result::Result<(), Refusal> {
        let writes = matches!(req.kind, CMD_TRIM | CMD_WRITE_ZEROES);
        if writes && !self.export.is_writable() {
            return Err(Refusal(EPERM, "the export is read-only".into()));
        }
        match req.kind {
            // Writes go to a temporary overlay: there is nothing to make durable.
            CMD_FLUSH => Ok(()),
            // A trim is advisory: the blocks keep what they hold.
            CMD_TRIM => self.check_range(req, ENOSPC).map(drop),
            CMD_WRITE_ZEROES => {
                self.check_range(req, ENOSPC)?;
                self.export
                    .write_zeroes(req.offset, u64::from(req.len))
                    .map_err(|e| Refusal(EIO, e.to_string()))
            }
            kind => Err(Refusal(ENOTSUP, format!("command {kind} is not served"))),
        }
    }

    /// `NBD_CMD_BLOCK_STATUS`: the `base:allocation` extents of the range (one with
    /// `REQ_ONE`).
    fn block_status(&self, req: &Request, w: &mut impl Write) -> io::Result<()> {
        if !self.agreed.allocation {
            let no = Refusal(EINVAL, "no metadata context was selected".into());
            return self.status(w, req, Err(no));
        }
        let end = match self.check_range(req, EINVAL) {
            Ok(end) if req.len > 0 => end,
            Ok(_) => {
                let empty = Refusal(EINVAL, "a block status of no bytes".into());
                return self.status(w, req, Err(empty));
            }
            Err(refusal) => return self.status(w, req, Err(refusal)),
        };
        let max = if req.flags & FLAG_REQ_ONE != 0 {
            1
        } else {
            MAX_EXTENTS
        };
        let extents: Vec<(u32, u32)> = self
            .export
            .extents(req.offset, end, max)?
            .into_iter()
            .map(|(len, zero)| (len as u32, if zero { STATE_HOLE_ZERO } else { 0 }))
            .collect();
        structured::block_status(w, req.cookie, BASE_ALLOCATION_ID, &extents)
    }
}

/// The default NBD port (IANA), where `serve` listens when told nothing.
pub const DEFAULT_PORT: u16 = 10809;

/// Parses a `--listen ADDR:PORT`.
pub fn parse_listen(word: &str) -> Result<SocketAddr> {
    word.parse().map_err(|_| {
        Error::Usage(format!(
            "serve: --listen {word}: expected ADDRESS:PORT (127.0.0.1:10809, [::1]:10809, \
             0.0.0.0:10809)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::source::MemSource;

    #[test]
    fn any_request_gets_a_reply_or_ends_the_connection_never_a_panic() {
        let mut next = super::super::tests::numbers(0x2545_f491_4f6c_dd1du64);
        let size = 3 * u64::from(super::super::BLOCK) + 5;
        for round in 0..400 {
            let source = Arc::new(MemSource::new(vec![1; size as usize], "mem"));
            let mut export = Export::new(source, [(4096, 8192)]);
            if round % 2 == 0 {
                export = export.writable().unwrap();
            }
            let mut input = Vec::new();
            for _ in 0..8 {
                let req = Request {
                    flags: (next() % 32) as u16,
                    kind: (next() % 10) as u16,
                    cookie: next(),
                    offset: [0, 1, 4095, size - 1, size, u64::MAX][(next() % 6) as usize],
                    len: [0, 1, 4096, 9000, MAX_REQUEST + 1, u32::MAX][(next() % 6) as usize],
                };
                input.extend_from_slice(&req.encode());
                if req.kind == CMD_WRITE && req.len < 10_000 {
                    input.extend(std::iter::repeat_n(0xab, req.len as usize));
                }
            }
            if round % 3 == 0 {
                input.truncate((next() as usize) % input.len());
            }
            let mut t = Transmission {
                export: &export,
                agreed: Agreed {
                    structured: round % 4 < 2,
                    allocation: round % 8 < 2,
                },
                buf: Vec::new(),
            };
            let mut out = Vec::new();
            let _ = t.run(&mut &input[..], &mut out);
        }
    }
}
