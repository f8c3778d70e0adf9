//! Text layouts shared by the read and inspect commands: the `ls -l` mode string and dates,
//! the `ll` table (GNU `ls -la` as guestfish prints it), `hexdump -C` lines, UTC calendar
//! arithmetic (the guestfish appliance runs in UTC, so isofish prints UTC too), and the one
//! escaping of names and text from an image for a terminal ([`escape_name`]).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::ops::Deref;

use nu_ansi_term::{Color, Style};

use crate::fs::{FileKind, Metadata, Timestamp};
use crate::ondisk::civil::Civil;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// A UTC calendar date and time ([`Civil`]) with the ways isofish prints one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime(Civil);

impl DateTime {
    /// The UTC date and time of `secs` since the epoch.
    pub fn from_unix(secs: i64) -> Self {
        DateTime(Civil::from_unix(secs))
    }

    /// `Mon`
    pub fn month_name(&self) -> &'static str {
        MONTHS[self.month as usize - 1]
    }

    /// `Sat Nov 21 23:54:41 2026`, as `ctime(3)` and `file` print dates.
    pub fn ctime(&self) -> String {
        format!(
            "{} {} {:2} {:02}:{:02}:{:02} {}",
            WEEKDAYS[self.weekday() as usize],
            self.month_name(),
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.year
        )
    }
}

impl Deref for DateTime {
    type Target = Civil;

    fn deref(&self) -> &Civil {
        &self.0
    }
}

/// Seconds since the epoch now.
pub fn now() -> i64 {
    Timestamp::now().secs
}

/// The date column of `ls -l`: `Mon DD HH:MM` within six months of `now` (and not in the
/// future), `Mon DD  YYYY` otherwise.
pub fn ls_date(t: Timestamp, now: i64) -> String {
    const SIX_MONTHS: i64 = 31_556_952 / 2;
    let d = DateTime::from_unix(t.secs);
    let recent = t.secs > now - SIX_MONTHS && t.secs <= now;
    if recent {
        format!(
            "{} {:2} {:02}:{:02}",
            d.month_name(),
            d.day,
            d.hour,
            d.minute
        )
    } else {
        format!("{} {:2}  {}", d.month_name(), d.day, d.year)
    }
}

/// The first character of `ls -l`'s mode string: the kind of file (`-`, `d`, `l`...).
pub fn kind_char(kind: FileKind) -> char {
    match kind {
        FileKind::File => '-',
        FileKind::Dir => 'd',
        FileKind::Symlink => 'l',
        FileKind::CharDevice => 'c',
        FileKind::BlockDevice => 'b',
        FileKind::Fifo => 'p',
        FileKind::Socket => 's',
    }
}

/// The ten-character mode string of `ls -l` (`drwxr-xr-x`, `-rwsr-xr-t`...).
pub fn mode_string(kind: FileKind, mode: u32) -> String {
    let mut s = String::with_capacity(10);
    s.push(kind_char(kind));
    let bit = |m: u32, c: char| if mode & m != 0 { c } else { '-' };
    let special = |x: u32, sp: u32, on: char, off: char| match (mode & x != 0, mode & sp != 0) {
        (true, true) => on,
        (false, true) => off,
        (true, false) => 'x',
        (false, false) => '-',
    };
    s.push(bit(0o400, 'r'));
    s.push(bit(0o200, 'w'));
    s.push(special(0o100, 0o4000, 's', 'S'));
    s.push(bit(0o040, 'r'));
    s.push(bit(0o020, 'w'));
    s.push(special(0o010, 0o2000, 's', 'S'));
    s.push(bit(0o004, 'r'));
    s.push(bit(0o002, 'w'));
    s.push(special(0o001, 0o1000, 't', 'T'));
    s
}

/// 512-byte blocks a file occupies, as `st_blocks` counts them.
pub fn blocks512(meta: &Metadata) -> u64 {
    meta.allocated.div_ceil(512)
}

/// One row of the `ll` table.
pub struct LsRow {
    pub name: Vec<u8>,
    pub meta: Metadata,
}

/// The style `ls --color` gives a name, with the default `LS_COLORS`.
fn name_style(meta: &Metadata) -> Option<Style> {
    Some(match meta.kind {
        FileKind::Dir => Color::Blue.bold(),
        FileKind::Symlink => Color::Cyan.bold(),
        FileKind::Fifo => Color::Yellow.normal(),
        FileKind::Socket => Color::Purple.bold(),
        FileKind::CharDevice | FileKind::BlockDevice => Color::Yellow.bold(),
        FileKind::File if meta.mode & 0o111 != 0 => Color::Green.bold(),
        FileKind::File => return None,
    })
}

/// How a listing writes the names from an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Names {
    /// Their bytes as they are: the output is a pipe or a file.
    Raw,
    /// Escaped ([`escape_name`]): the output is a terminal.
    Escaped,
    /// Escaped and painted as `ls --color` does: a terminal, colour allowed.
    Painted,
}

/// Writes `rows` as `ls -la` does: `total N`, then one aligned line per row. The rows are
/// written in the order given; `names` says how names and symlink targets are written.
pub fn write_ll(out: &mut dyn Write, rows: &[LsRow], now: i64, names: Names) -> io::Result<()> {
    let total: u64 = rows.iter().map(|r| blocks512(&r.meta)).sum();
    writeln!(out, "total {}", total.div_ceil(2))?;
    let width = |f: &dyn Fn(&LsRow) -> usize| rows.iter().map(f).max().unwrap_or(0);
    let digits = |n: u64| n.to_string().len();
    let nlink_w = width(&|r| digits(r.meta.nlink.into()));
    let uid_w = width(&|r| digits(r.meta.uid.into()));
    let gid_w = width(&|r| digits(r.meta.gid.into()));
    let major_w = width(&|r| r.meta.rdev.map_or(0, |(m, _)| digits(m.into())));
    let minor_w = width(&|r| r.meta.rdev.map_or(0, |(_, m)| digits(m.into())));
    let is_dev = |r: &LsRow| matches!(r.meta.kind, FileKind::CharDevice | FileKind::BlockDevice);
    let dev_w = if rows.iter().any(is_dev) {
        major_w + 2 + minor_w
    } else {
        0
    };
    let size_w = width(&|r| digits(r.meta.size)).max(dev_w);
    for r in rows {
        let m = &r.meta;
        let size = match m.rdev {
            Some((major, minor)) if is_dev(r) => {
                format!("{major:>major_w$}, {minor:>minor_w$}")
            }
            _ => m.size.to_string(),
        };
        write!(
            out,
            "{} {:>nlink_w$} {:>uid_w$} {:>gid_w$} {:>size_w$} {} ",
            mode_string(m.kind, m.mode),
            m.nlink,
            m.uid,
            m.gid,
            size,
            ls_date(m.mtime, now),
        )?;
        let escaped = names != Names::Raw;
        match name_style(m).filter(|_| names == Names::Painted) {
            Some(style) => write!(out, "{}", style.paint(escape_name(&r.name).as_ref()))?,
            None => write_name(out, &r.name, escaped)?,
        }
        if let Some(target) = m.symlink.as_ref().filter(|_| m.kind == FileKind::Symlink) {
            out.write_all(b" -> ")?;
            write_name(out, target, escaped)?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// `name` as GNU `ls -b` shows it on a terminal: valid printable UTF-8 as it is; a control
/// character (C0, DEL, C1), a byte that is not UTF-8, and the backslash itself as C escapes
/// (`\n`, `\t`, `\\`...) or three octal digits (`\033`). A name from an image can then
/// neither drive the terminal (`ESC [2J` clears the screen) nor pass for another name.
pub fn escape_name(name: &[u8]) -> Cow<'_, str> {
    escape(name, true)
}

/// Text from an image (a file's lines, a message naming a path) made safe for a terminal:
/// control characters and bytes that are not UTF-8 escaped as [`escape_name`] does, backslashes
/// left as they are. Text [`escape_name`] gave is unchanged.
pub fn escape_controls(text: &[u8]) -> Cow<'_, str> {
    escape(text, false)
}

/// Writes `name` escaped ([`escape_name`]) when `terminal` is true, else its bytes as they are
/// (a pipe or a file: scripts get the exact name).
pub fn write_name(out: &mut dyn Write, name: &[u8], terminal: bool) -> io::Result<()> {
    if terminal {
        out.write_all(escape_name(name).as_bytes())
    } else {
        out.write_all(name)
    }
}

/// The escaping behind [`escape_name`] (`backslash` true) and [`escape_controls`].
fn escape(bytes: &[u8], backslash: bool) -> Cow<'_, str> {
    let plain = |c: char| !(c.is_control() || backslash && c == '\\');
    if let Ok(text) = std::str::from_utf8(bytes) {
        if text.chars().all(plain) {
            return Cow::Borrowed(text);
        }
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if plain(c) {
                out.push(c);
            } else {
                c.encode_utf8(&mut [0; 4])
                    .bytes()
                    .for_each(|b| escape_byte(&mut out, b));
            }
        }
        chunk
            .invalid()
            .iter()
            .for_each(|&b| escape_byte(&mut out, b));
    }
    Cow::Owned(out)
}

/// One byte as C writes it in a string: `\n`, `\\`, or `\ooo`.
fn escape_byte(out: &mut String, b: u8) {
    let named = match b {
        0x07 => "\\a",
        0x08 => "\\b",
        b'\t' => "\\t",
        b'\n' => "\\n",
        0x0b => "\\v",
        0x0c => "\\f",
        b'\r' => "\\r",
        b'\\' => "\\\\",
        _ => {
            let _ = write!(out, "\\{b:03o}");
            return;
        }
    };
    out.push_str(named);
}

/// A `hexdump -C` writer: feed it the file's bytes in order with [`Hexdump::write`] (in
/// chunks that are multiples of 16 bytes, except the last), then call [`Hexdump::finish`].
/// Runs of identical lines print as one `*`, as hexdump does.
#[derive(Default)]
pub struct Hexdump {
    offset: u64,
    last: Option<[u8; 16]>,
    starred: bool,
}

impl Hexdump {
    /// Dumps the next bytes of the file.
    pub fn write(&mut self, out: &mut dyn Write, data: &[u8]) -> io::Result<()> {
        for line in data.chunks(16) {
            if line.len() == 16 && self.last.as_ref().is_some_and(|l| l[..] == *line) {
                if !self.starred {
                    out.write_all(b"*\n")?;
                    self.starred = true;
                }
                self.offset += 16;
                continue;
            }
            self.starred = false;
            let mut text = format!("{:08x} ", self.offset);
            for i in 0..16 {
                if i == 8 {
                    text.push(' ');
                }
                match line.get(i) {
                    Some(b) => text.push_str(&format!(" {b:02x}")),
                    None => text.push_str("   "),
                }
            }
            text.push_str("  |");
            for &b in line {
                text.push(if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                });
            }
            text.push_str("|\n");
            out.write_all(text.as_bytes())?;
            self.last = line.try_into().ok();
            self.offset += line.len() as u64;
        }
        Ok(())
    }

    /// The closing line: the total length (nothing for an empty file).
    pub fn finish(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.offset > 0 {
            writeln!(out, "{:08x}", self.offset)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let d = DateTime::from_unix(0);
        assert_eq!((d.year, d.month, d.day), (1970, 1, 1));
        assert_eq!(d.ctime(), "Thu Jan  1 00:00:00 1970");
        let d = DateTime::from_unix(951_782_400); // 2000-02-29
        assert_eq!((d.year, d.month, d.day), (2000, 2, 29));
        let d = DateTime::from_unix(-1);
        assert_eq!((d.year, d.month, d.day, d.hour), (1969, 12, 31, 23));
        let now = 1_700_000_000;
        assert_eq!(
            ls_date(
                Timestamp {
                    secs: now,
                    nanos: 0
                },
                now
            ),
            "Nov 14 22:13"
        );
        assert_eq!(
            ls_date(Timestamp { secs: 0, nanos: 0 }, now),
            "Jan  1  1970"
        );
    }

    #[test]
    fn modes() {
        assert_eq!(mode_string(FileKind::Dir, 0o755), "drwxr-xr-x");
        assert_eq!(mode_string(FileKind::File, 0o4755), "-rwsr-xr-x");
        assert_eq!(mode_string(FileKind::File, 0o2644), "-rw-r-Sr--");
        assert_eq!(mode_string(FileKind::Dir, 0o1777), "drwxrwxrwt");
        assert_eq!(mode_string(FileKind::Symlink, 0o777), "lrwxrwxrwx");
    }

    #[test]
    fn names_escape_as_ls_b_does() {
        assert_eq!(
            escape_name(b"plain \xc3\xa9t\xc3\xa9"),
            "plain \u{e9}t\u{e9}"
        );
        assert!(matches!(escape_name(b"plain"), Cow::Borrowed(_)));
        assert_eq!(
            escape_name(b"a\x1b[2J\n\t\\\x7f\x07\x00z"),
            r"a\033[2J\n\t\\\177\a\000z"
        );
        // Bytes that are not UTF-8, and a C1 control (U+009B, CSI) encoded as UTF-8.
        assert_eq!(escape_name(b"\xff\xc3x\xc2\x9b"), r"\377\303x\302\233");
        assert_eq!(escape_controls(b"C:\\dos\x1b"), r"C:\dos\033");
        // Escaped text holds no control character, so escaping it again changes nothing.
        let once = escape_name(b"x\x1b\\y");
        assert_eq!(escape_controls(once.as_bytes()), once);
    }

    #[test]
    fn ll_paints_names_only_when_asked() {
        let row = |name: &str, kind, mode| LsRow {
            name: name.as_bytes().to_vec(),
            meta: Metadata {
                kind,
                mode,
                nlink: 1,
                ..Metadata::synthetic_dir(0)
            },
        };
        let rows = [
            row("dir", FileKind::Dir, 0o755),
            row("run", FileKind::File, 0o755),
            row("doc", FileKind::File, 0o644),
        ];
        let mut plain = Vec::new();
        write_ll(&mut plain, &rows, 0, Names::Raw).unwrap();
        assert!(!plain.contains(&0x1b));
        let mut painted = Vec::new();
        write_ll(&mut painted, &rows, 0, Names::Painted).unwrap();
        let text = String::from_utf8(painted).unwrap();
        assert!(text.contains("\u{1b}[1;34mdir\u{1b}[0m"), "{text:?}");
        assert!(text.contains("\u{1b}[1;32mrun\u{1b}[0m"), "{text:?}");
        assert!(text.contains(" doc\n"), "{text:?}");
    }

    #[test]
    fn ll_escapes_names_on_a_terminal_only() {
        let rows = [LsRow {
            name: b"a\x1b[2Jb".to_vec(),
            meta: Metadata::synthetic_dir(0),
        }];
        let written = |names| {
            let mut out = Vec::new();
            write_ll(&mut out, &rows, 0, names).unwrap();
            out
        };
        assert!(written(Names::Raw).ends_with(b" a\x1b[2Jb\n"));
        assert!(written(Names::Escaped).ends_with(b" a\\033[2Jb\n"));
        let painted = String::from_utf8(written(Names::Painted)).unwrap();
        assert!(painted.contains(r"a\033[2Jb"), "{painted:?}");
        assert!(!painted.contains("\x1b[2J"), "{painted:?}");
    }
}
