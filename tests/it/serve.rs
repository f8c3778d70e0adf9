//! `serve`: the image a commit would write, served over NBD. nbdinfo, nbdcopy, qemu-io and
//! qemu read (and with `--rw` write) it: the same bytes as `commit OUTPUT` of the same
//! session, zero extents that are zeros, several clients at once, a grub-mkrescue image with a
//! changed grub.cfg booting from the server; and clients that break the protocol (a raw socket
//! speaking NBD badly) lose their connection while the server goes on answering the others.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::{fixture, isofish, root, scratch, tool};

/// A running `isofish … serve`, interrupted (SIGINT) and waited for when dropped.
struct Served {
    child: Child,
    uri: String,
    stderr: PathBuf,
}

impl Served {
    /// Runs isofish with `args` in `dir` (its stderr kept there) and waits for the URI it
    /// prints.
    fn start(dir: &Path, args: &[&str]) -> Served {
        let stderr = dir.join("serve.stderr");
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("isofish"))
            .args(args)
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("a file for stderr"))
            .spawn()
            .expect("isofish runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("a pipe"))
            .read_line(&mut line)
            .expect("isofish's output");
        let uri = line.trim().to_string();
        let served = Served { child, uri, stderr };
        assert!(
            served.uri.starts_with("nbd"),
            "no URI printed: {:?}; stderr: {}",
            line,
            served.log()
        );
        served
    }

    /// What the server said on standard error.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// True while the server runs.
    fn running(&mut self) -> bool {
        self.child
            .try_wait()
            .expect("the server's status")
            .is_none()
    }

    /// Interrupts the server as Ctrl-C would and returns its exit status.
    fn stop(mut self) -> ExitStatus {
        self.interrupt()
    }

    fn interrupt(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("the server's status") {
                return status;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                panic!("the server did not stop on SIGINT; stderr: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.running() {
            self.interrupt();
        }
    }
}

/// A copy of fixture `name` in `dir`.
fn copy(name: &str, dir: &Path) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(fixture(name), &to).expect("a copy of the fixture");
    to
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The whole served image, as nbdcopy copies it.
fn nbdcopy(uri: &str, dir: &Path, name: &str) -> Vec<u8> {
    let out = dir.join(name);
    tool("nbdcopy", &[uri, path(&out)], None);
    std::fs::read(&out).expect("nbdcopy's copy")
}

/// `nbdinfo --map`: (offset, length, zero) for every extent of `base:allocation`.
fn map(uri: &str) -> Vec<(usize, usize, bool)> {
    let out = String::from_utf8(tool("nbdinfo", &["--map", uri], None)).expect("text");
    out.lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let n = |i: usize| f[i].parse::<usize>().expect("a number");
            (n(0), n(1), l.contains("zero"))
        })
        .collect()
}

/// A session that committed its staged changes to a new file, then served them.
struct Committed {
    /// The copy of the fixture the session opened.
    image: PathBuf,
    /// What `commit OUTPUT` wrote.
    committed: PathBuf,
    socket: PathBuf,
    served: Served,
}

/// Opens a copy of fixture `name` in `dir`, runs the commands `staged` (each ending with
/// `:`), `commit committed.iso`, then `serve FLAGS --socket nbd.sock`.
fn commit_then_serve(dir: &Path, name: &str, staged: &[&str], flags: &[&str]) -> Committed {
    let image = copy(name, dir);
    let committed = dir.join("committed.iso");
    let socket = dir.join("nbd.sock");
    let mut args = vec!["-a", path(&image)];
    args.extend(staged);
    args.extend(["commit", path(&committed), ":", "serve"]);
    args.extend(flags);
    args.extend(["--socket", path(&socket)]);
    let served = Served::start(dir, &args);
    Committed {
        image,
        committed,
        socket,
        served,
    }
}

#[test]
fn nbdinfo_and_nbdcopy_read_what_commit_writes() {
    let dir = scratch();
    let staged = ["write", "/NOTE.TXT", "served over NBD", ":"];
    let Committed {
        image,
        committed,
        socket,
        served,
    } = commit_then_serve(dir.path(), "boot-appended.iso", &staged, &[]);
    assert_eq!(served.uri, format!("nbd+unix:///?socket={}", path(&socket)));
    let want = std::fs::read(&committed).expect("the committed image");
    let size = String::from_utf8(tool("nbdinfo", &["--size", &served.uri], None)).unwrap();
    assert_eq!(size.trim(), want.len().to_string());
    let got = nbdcopy(&served.uri, dir.path(), "copy.iso");
    assert!(
        got == want,
        "nbdcopy's copy differs from the committed image"
    );
    // The extents said to be zeros are zeros, and they are not the whole image.
    let extents = map(&served.uri);
    assert_eq!(extents.iter().map(|e| e.1).sum::<usize>(), want.len());
    for &(offset, len, zero) in &extents {
        if zero {
            assert!(
                want[offset..offset + len].iter().all(|&b| b == 0),
                "{offset}+{len}"
            );
        }
    }
    assert!(
        extents.iter().any(|e| !e.2) && extents.iter().any(|e| e.2),
        "{extents:?}"
    );
    let status = served.stop();
    assert!(status.success(), "{status}");
    assert!(!socket.exists(), "the socket file is removed");
    let original = std::fs::read(fixture("boot-appended.iso")).unwrap();
    assert!(
        std::fs::read(&image).unwrap() == original,
        "the opened image is unchanged"
    );
    let note = crate::common::run_ro(&committed, &["cat", "/NOTE.TXT"]);
    assert_eq!(note, b"served over NBD");
}

/// `isofish --serve=ADDR:PORT` after the commands; with nothing staged it serves the image a
/// commit would rewrite (over TCP here, on a port the system picks).
#[test]
fn serve_flag_serves_the_rewritten_image_over_tcp() {
    let dir = scratch();
    let image = copy("sample.iso", dir.path());
    let rewritten = dir.path().join("rewritten.iso");
    isofish()
        .args(["-a", path(&image), "commit", path(&rewritten)])
        .assert()
        .success();
    let served = Served::start(dir.path(), &["-a", path(&image), "--serve=127.0.0.1:0"]);
    assert!(served.uri.starts_with("nbd://127.0.0.1:"), "{}", served.uri);
    let got = nbdcopy(&served.uri, dir.path(), "copy.iso");
    assert!(got == std::fs::read(&rewritten).unwrap());
    assert!(served.stop().success());
}

/// `--export NAME`: nbdinfo lists the export under its name and reads it by that name (or
/// the default one); another name is refused.
#[test]
fn the_export_is_listed_and_opened_by_its_name() {
    let dir = scratch();
    let socket = dir.path().join("nbd.sock");
    let sample = fixture("sample.iso");
    let args = ["--ro", "-a", path(&sample), "serve", "--export", "cd one"];
    let served = Served::start(
        dir.path(),
        &[&args[..], &["--socket", path(&socket)]].concat(),
    );
    let by_name = format!("nbd+unix:///cd%20one?socket={}", path(&socket));
    assert_eq!(served.uri, by_name);
    let list = String::from_utf8(tool("nbdinfo", &["--list", &served.uri], None)).unwrap();
    assert!(list.contains("export=\"cd one\""), "{list}");
    let size = |uri: &str| {
        Command::new("nbdinfo")
            .args(["--size", uri])
            .output()
            .unwrap()
    };
    let default = format!("nbd+unix:///?socket={}", path(&socket));
    let (named, unnamed) = (size(&by_name), size(&default));
    assert!(
        named.status.success() && named.stdout == unnamed.stdout,
        "{named:?} {unnamed:?}"
    );
    let other = size(&format!("nbd+unix:///other?socket={}", path(&socket)));
    assert!(!other.status.success(), "{other:?}");
    assert!(served.stop().success());
}

/// A socket path that exists and a port in use are refused, exit status 1.
#[test]
fn a_taken_socket_path_or_port_is_an_error() {
    let dir = scratch();
    let taken = dir.path().join("taken.sock");
    std::fs::write(&taken, b"").unwrap();
    let refused = |flag: &str, value: &str, why: &str| {
        let sample = fixture("sample.iso");
        let out = isofish()
            .args(["--ro", "-a", path(&sample), "serve", flag, value])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{err}");
    };
    refused("--socket", path(&taken), "exists");
    assert!(taken.exists(), "an existing path is left alone");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    refused("--port", &port, "in use");
}

/// A minimal NBD client over a raw socket, to send what real clients never would.
mod raw {
    use super::*;

    pub const IHAVEOPT: u64 = 0x4948_4156_454f_5054;
    pub const OPT_GO: u32 = 7;
    pub const OPT_STRUCTURED_REPLY: u32 = 8;
    pub const REP_ACK: u32 = 1;
    pub const REP_INFO: u32 = 3;
    pub const REP_ERR_UNSUP: u32 = (1 << 31) + 1;
    pub const CMD_READ: u16 = 0;
    pub const CMD_WRITE: u16 = 1;
    pub const CMD_DISC: u16 = 2;
    pub const EPERM: u32 = 1;
    pub const EINVAL: u32 = 22;

    pub struct Client {
        pub s: UnixStream,
        pub size: u64,
    }

    fn u32_of(b: &[u8]) -> u32 {
        u32::from_be_bytes(b.try_into().unwrap())
    }

    /// Connects and reads the greeting; sends the client flags (fixed newstyle, no zeroes).
    pub fn greet(socket: &Path) -> UnixStream {
        let mut s = UnixStream::connect(socket).expect("a connection");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut greeting = [0u8; 18];
        s.read_exact(&mut greeting).unwrap();
        assert_eq!(&greeting[..8], b"NBDMAGIC");
        assert_eq!(&greeting[8..16], b"IHAVEOPT");
        s.write_all(&3u32.to_be_bytes()).unwrap();
        s
    }

    /// Sends option `opt` with `data`.
    pub fn option(s: &mut UnixStream, opt: u32, data: &[u8]) {
        let mut b = IHAVEOPT.to_be_bytes().to_vec();
        b.extend_from_slice(&opt.to_be_bytes());
        b.extend_from_slice(&(data.len() as u32).to_be_bytes());
        b.extend_from_slice(data);
        s.write_all(&b).unwrap();
    }

    /// Reads one option reply: (option, type, data).
    pub fn option_reply(s: &mut UnixStream) -> (u32, u32, Vec<u8>) {
        let mut h = [0u8; 20];
        s.read_exact(&mut h).unwrap();
        assert_eq!(&h[..8], &0x0003_e889_0455_65a9u64.to_be_bytes());
        let mut data = vec![0u8; u32_of(&h[16..20]) as usize];
        s.read_exact(&mut data).unwrap();
        (u32_of(&h[8..12]), u32_of(&h[12..16]), data)
    }

    /// `NBD_OPT_GO` for the default export: the export's size.
    pub fn go(s: &mut UnixStream) -> u64 {
        option(s, OPT_GO, &[0, 0, 0, 0, 0, 0]);
        let mut size = None;
        loop {
            let (opt, kind, data) = option_reply(s);
            assert_eq!(opt, OPT_GO);
            match kind {
                REP_INFO if data[..2] == [0, 0] => {
                    size = Some(u64::from_be_bytes(data[2..10].try_into().unwrap()))
                }
                REP_INFO => {}
                REP_ACK => return size.expect("NBD_INFO_EXPORT before the ACK"),
                other => panic!("NBD_OPT_GO refused: {other:#x}"),
            }
        }
    }

    /// A client in the transmission phase, with structured replies or not.
    pub fn connect(socket: &Path, structured: bool) -> Client {
        let mut s = greet(socket);
        if structured {
            option(&mut s, OPT_STRUCTURED_REPLY, &[]);
            assert_eq!(option_reply(&mut s).1, REP_ACK);
        }
        let size = go(&mut s);
        Client { s, size }
    }

    impl Client {
        pub fn request(&mut self, kind: u16, cookie: u64, offset: u64, len: u32) {
            let mut b = 0x2560_9513u32.to_be_bytes().to_vec();
            b.extend_from_slice(&0u16.to_be_bytes());
            b.extend_from_slice(&kind.to_be_bytes());
            b.extend_from_slice(&cookie.to_be_bytes());
            b.extend_from_slice(&offset.to_be_bytes());
            b.extend_from_slice(&len.to_be_bytes());
            self.s.write_all(&b).unwrap();
        }

        /// A simple reply: (error, cookie).
        pub fn simple_reply(&mut self) -> (u32, u64) {
            let mut h = [0u8; 16];
            self.s.read_exact(&mut h).unwrap();
            assert_eq!(&h[..4], &0x6744_6698u32.to_be_bytes());
            (
                u32_of(&h[4..8]),
                u64::from_be_bytes(h[8..16].try_into().unwrap()),
            )
        }

        /// Reads `len` bytes at `offset` with simple replies.
        pub fn read(&mut self, offset: u64, len: u32) -> Result<Vec<u8>, u32> {
            self.request(CMD_READ, 7, offset, len);
            let (error, cookie) = self.simple_reply();
            assert_eq!(cookie, 7);
            if error != 0 {
                return Err(error);
            }
            let mut data = vec![0u8; len as usize];
            self.s.read_exact(&mut data).unwrap();
            Ok(data)
        }

        /// One structured reply chunk: (flags, type, payload).
        pub fn chunk(&mut self) -> (u16, u16, Vec<u8>) {
            let mut h = [0u8; 20];
            self.s.read_exact(&mut h).unwrap();
            assert_eq!(&h[..4], &0x668e_33efu32.to_be_bytes());
            let mut payload = vec![0u8; u32_of(&h[16..20]) as usize];
            self.s.read_exact(&mut payload).unwrap();
            let flags = u16::from_be_bytes([h[4], h[5]]);
            (flags, u16::from_be_bytes([h[6], h[7]]), payload)
        }
    }

    /// True when the server closed the connection.
    pub fn closed(s: &mut UnixStream) -> bool {
        let mut b = [0u8; 1];
        matches!(s.read(&mut b), Ok(0) | Err(_))
    }
}

/// `isofish --ro -a sample.iso serve --socket DIR/nbd.sock`: the socket and the server.
fn serve_sample(dir: &Path) -> (PathBuf, Served) {
    let socket = dir.join("nbd.sock");
    let sample = fixture("sample.iso");
    let args = [
        "--ro",
        "-a",
        path(&sample),
        "serve",
        "--socket",
        path(&socket),
    ];
    (socket.clone(), Served::start(dir, &args))
}

/// One client holds its connection open while nbdcopy copies the whole image through another,
/// then reads through the first: connections are served at once.
#[test]
fn two_clients_at_once() {
    let dir = scratch();
    let (socket, served) = serve_sample(dir.path());
    let mut first = raw::connect(&socket, false);
    let whole = nbdcopy(&served.uri, dir.path(), "copy.iso");
    assert_eq!(first.size, whole.len() as u64);
    let at = 32768;
    assert_eq!(
        first.read(at, 4096).unwrap(),
        &whole[at as usize..at as usize + 4096]
    );
    let mut second = raw::connect(&socket, false);
    assert_eq!(second.read(0, 512).unwrap(), &whole[..512]);
    drop(first);
    assert_eq!(
        second.read(at, 2048).unwrap(),
        &whole[at as usize..at as usize + 2048]
    );
}

/// A bad magic number, an unknown option, an oversized read, a read past the end, a bad
/// request and a client gone in the middle of a reply: each gets its error reply or a closed
/// connection, and the server goes on answering another client.
#[test]
fn malformed_requests_leave_the_server_answering() {
    let dir = scratch();
    let (socket, mut served) = serve_sample(dir.path());
    let whole = nbdcopy(&served.uri, dir.path(), "copy.iso");
    let mut witness = raw::connect(&socket, false);
    let mut still_answered = |what: &str| {
        assert_eq!(
            witness.read(0, 4096).unwrap(),
            &whole[..4096],
            "after {what}"
        );
    };

    // A bad option magic: the connection is closed.
    let mut s = raw::greet(&socket);
    s.write_all(&[0xde; 16]).unwrap();
    assert!(raw::closed(&mut s));
    still_answered("a bad option magic");

    // Unknown client flags: closed.
    let mut s = UnixStream::connect(&socket).unwrap();
    let mut greeting = [0u8; 18];
    s.read_exact(&mut greeting).unwrap();
    s.write_all(&0x8000_0000u32.to_be_bytes()).unwrap();
    assert!(raw::closed(&mut s));

    // An unknown option: NBD_REP_ERR_UNSUP, and the haggling goes on.
    let mut s = raw::greet(&socket);
    raw::option(&mut s, 99, b"whatever");
    assert_eq!(
        raw::option_reply(&mut s),
        (99, raw::REP_ERR_UNSUP, Vec::new())
    );
    let size = raw::go(&mut s);
    assert_eq!(size, whole.len() as u64);
    let mut c = raw::Client { s, size };

    // An oversized read, a read past the end, a write to a read-only export: error replies.
    assert_eq!(c.read(0, 64 << 20), Err(raw::EINVAL));
    assert_eq!(c.read(size - 100, 4096), Err(raw::EINVAL));
    assert_eq!(c.read(u64::MAX - 10, 100), Err(raw::EINVAL));
    assert_eq!(c.read(size, 0), Ok(Vec::new()));
    c.request(raw::CMD_WRITE, 9, 0, 3);
    c.s.write_all(b"abc").unwrap();
    assert_eq!(c.simple_reply(), (raw::EPERM, 9));
    assert_eq!(
        c.read(size - 100, 100).unwrap(),
        &whole[whole.len() - 100..]
    );
    still_answered("error replies");

    // With structured replies, a read past the end is an error chunk.
    let mut st = raw::connect(&socket, true);
    st.request(raw::CMD_READ, 5, size, 1);
    let (flags, kind, payload) = st.chunk();
    assert_eq!((flags & 1, kind), (1, 0x8001), "a final error chunk");
    assert_eq!(&payload[..4], &raw::EINVAL.to_be_bytes());
    st.request(raw::CMD_DISC, 6, 0, 0);
    assert!(raw::closed(&mut st.s));

    // A bad request magic: closed.
    c.s.write_all(&[0x55; 28]).unwrap();
    assert!(raw::closed(&mut c.s));
    still_answered("a bad request magic");

    // Gone in the middle of a reply: a large read asked for, a little of it read, then closed.
    for _ in 0..3 {
        let mut c = raw::connect(&socket, false);
        c.request(raw::CMD_READ, 1, 0, size as u32);
        let mut some = [0u8; 100];
        c.s.read_exact(&mut some).unwrap();
        drop(c);
    }
    // And a connection dropped in the handshake, before the client flags.
    drop(UnixStream::connect(&socket).unwrap());
    still_answered("clients gone mid-reply");
    assert!(
        served.running(),
        "the server runs on; stderr: {}",
        served.log()
    );
    let log = served.log();
    assert!(log.contains("bad request magic"), "{log}");
    assert!(served.stop().success());
}

/// `--rw`: a write through qemu-io is read back by nbdcopy, while the opened image and the
/// committed one are untouched.
#[test]
fn rw_writes_go_to_an_overlay() {
    let dir = scratch();
    let Committed {
        image,
        committed,
        served,
        ..
    } = commit_then_serve(dir.path(), "sample.iso", &[], &["--rw"]);
    tool(
        "qemu-io",
        &["-f", "raw", "-c", "write -P 0x61 5000 3000", &served.uri],
        None,
    );
    let got = nbdcopy(&served.uri, dir.path(), "copy.iso");
    let mut want = std::fs::read(&committed).unwrap();
    want[5000..8000].fill(0x61);
    assert!(
        got == want,
        "the served image is the committed one with the write"
    );
    assert!(served.stop().success());
    assert!(std::fs::read(&image).unwrap() == std::fs::read(fixture("sample.iso")).unwrap());
}

/// A grub-mkrescue image with a changed grub.cfg, served and never written, boots in qemu
/// from the NBD server as CD and as hard disk.
#[test]
fn qemu_boots_a_served_grub_image_as_cd_and_hard_disk() {
    use crate::boot_qemu::{boot_all, BIOS, MARKER};
    let dir = scratch();
    let image = crate::boot_images::copy("boot-grub", dir.path());
    let socket = dir.path().join("nbd.sock");
    let config = format!(
        "serial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\n\
         echo {MARKER}\nsleep 60\n"
    );
    let served = Served::start(
        dir.path(),
        &[
            "-a",
            path(&image),
            "write",
            "/boot/grub/grub.cfg",
            &config,
            ":",
            "serve",
            "--socket",
            path(&socket),
            ":",
            "revert-all",
        ],
    );
    boot_all(Path::new(&served.uri), BIOS, MARKER);
    assert!(served.stop().success());
    let original = std::fs::read(crate::boot_images::image("boot-grub")).unwrap();
    assert!(
        std::fs::read(&image).unwrap() == original,
        "nothing was committed"
    );
}

/// `mkiso DIR nbd:SOCKET` serves the image `mkiso DIR FILE` writes (the same size and tree;
/// dates aside), without writing it.
#[test]
fn mkiso_serves_a_new_image_without_writing_it() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("a.txt"), b"served by mkiso\n").unwrap();
    std::fs::write(tree.join("sub/b.bin"), vec![7u8; 300_000]).unwrap();
    let written = dir.path().join("written.iso");
    isofish()
        .args(["mkiso", path(&tree), path(&written)])
        .assert()
        .success();
    let socket = dir.path().join("mkiso.sock");
    let place = format!("nbd:{}", path(&socket));
    let served = Served::start(dir.path(), &["mkiso", path(&tree), &place]);
    let got = nbdcopy(&served.uri, dir.path(), "served.iso");
    assert!(served.stop().success());
    assert!(!socket.exists());
    assert_eq!(got.len() as u64, std::fs::metadata(&written).unwrap().len());
    let image = dir.path().join("served.iso");
    std::fs::write(&image, &got).unwrap();
    for (name, want) in [
        ("a.txt", b"served by mkiso\n".to_vec()),
        ("sub/b.bin", vec![7u8; 300_000]),
    ] {
        let out = std::process::Command::new("bsdtar")
            .args(["-xOf", path(&image), name])
            .output()
            .expect("bsdtar runs");
        assert!(out.stdout == want, "{name} differs in the served image");
    }
    let list = |p: &Path| {
        std::process::Command::new("bsdtar")
            .args(["-tf", path(p)])
            .output()
            .expect("bsdtar runs")
            .stdout
    };
    assert!(list(&image) == list(&written), "the same names");
}
