//! `serve`: the session's image as a commit would write it (staged changes and boot replay
//! included), served over NBD straight from its plan until Ctrl-C; and [`serve_export`], which
//! serves any [`Export`] the same way.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{bail, Context};

use super::{option, Command, Ctx, Opt, Parsed, Value};
use crate::fs::iso9660::write::Options;
use crate::nbd::server::{parse_listen, DEFAULT_PORT};
use crate::nbd::{Export, Listen, Server};

pub const COMMANDS: &[Command] = &[Command {
    name: "serve",
    aliases: &[],
    args: &[],
    options: &[SOCKET, PORT, LISTEN, EXPORT, RW],
    run: serve,
}];

const SOCKET: Opt = option(
    "--socket",
    Value::Word("PATH"),
    "listen on a new Unix socket at PATH (removed at the end)",
);
const PORT: Opt = option(
    "--port",
    Value::Word("N"),
    "listen on TCP port N of 127.0.0.1 (default 10809)",
);
const LISTEN: Opt = option(
    "--listen",
    Value::Word("ADDR:PORT"),
    "listen on TCP at ADDR:PORT, any address (no TLS: a trusted network only)",
);
const EXPORT: Opt = option(
    "--export",
    Value::Word("NAME"),
    "the export's name (clients asking for the default one get it too)",
);
const RW: Opt = option(
    "--rw",
    Value::Flag,
    "let clients write: to a temporary copy-on-write overlay, dropped at the end",
);

/// How and where to serve: the listener, the export name, writable or not.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: Listen,
    pub name: String,
    pub rw: bool,
}

impl Settings {
    /// The settings `serve`'s flags give.
    pub fn parse(parsed: &Parsed) -> anyhow::Result<Settings> {
        let given = [
            parsed.value("--socket"),
            parsed.value("--port"),
            parsed.value("--listen"),
        ];
        if given.iter().flatten().count() > 1 {
            bail!("serve: --socket, --port and --listen choose where to listen: give one");
        }
        let listen = match given {
            [Some(path), _, _] => Listen::Unix(PathBuf::from(path)),
            [_, Some(port), _] => {
                let port: u16 = port
                    .parse()
                    .with_context(|| format!("serve: --port {port}: expected a port number"))?;
                Listen::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            }
            [_, _, Some(addr)] => Listen::Tcp(parse_listen(addr)?),
            _ => Listen::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT))),
        };
        Ok(Settings {
            listen,
            name: parsed.value("--export").unwrap_or_default().to_string(),
            rw: parsed.flag("--rw"),
        })
    }
}

fn serve(ctx: &mut Ctx, words: &[String]) -> anyhow::Result<()> {
    let parsed = super::parse("serve", words)?;
    let settings = Settings::parse(&parsed)?;
    let session = &mut *ctx.session;
    let drive = session.commit_drive()?;
    let mut plan = session.planned(drive, &Options::default())?;
    session.implant_md5(drive, &mut plan, false)?;
    super::sink::warn_plan("serve", &plan);
    let name = format!(
        "{} (as it will be committed)",
        session.drives()[drive].source.name()
    );
    serve_export(ctx, Export::from_plan(plan, name), &settings)
}

/// Serves `export` as `settings` say: prints the URI on the command's output, then serves
/// until SIGINT (Ctrl-C) or SIGTERM, and removes the socket file.
pub fn serve_export(ctx: &mut Ctx, export: Export, settings: &Settings) -> anyhow::Result<()> {
    let mut export = export.named(settings.name.clone());
    if settings.rw {
        export = export
            .writable()
            .context("serve --rw: a temporary file for the written blocks")?;
    }
    let server = Server::bind(&settings.listen, export)?;
    writeln!(ctx.out, "{}", server.uri())?;
    ctx.out.flush()?;
    // Serving waits on its clients: what planning the image set aside is freed meanwhile.
    crate::aside::sweep();
    let stop = Arc::new(AtomicBool::new(false));
    let mut ids = Vec::new();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        ids.push(signal_hook::flag::register(signal, stop.clone())?);
    }
    let ran = server.run(&stop);
    for id in ids {
        signal_hook::low_level::unregister(id);
    }
    // The Ctrl-C that stopped the server ends `serve` itself, not the run it is part of.
    crate::cancel::reset();
    ran.map_err(Into::into)
}
