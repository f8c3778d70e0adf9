//! A [`Plan`] written into a new host file from its first byte ([`write()`]): ranges of host
//! files are moved by the kernel with `copy_file_range` (shared blocks where the filesystem can
//! reflink), or `sendfile` where the host refuses that (between two filesystems; read and
//! written here only when it refuses both), bytes held in memory and ranges
//! of other sources are gathered into large writes (an image's many small directories go out
//! in a few calls, in whole pages), zeros are not written (long runs stay holes, and the padding
//! between two ranges of host files is left to read as zeros). One scratch buffer of [`BUF`]
//! bytes and calls of at most 1 GiB each: memory stays bounded whatever the image's size. The
//! atomic replacement of a file around this is [`super::atomic`].

use std::fs::File;
use std::os::unix::fs::FileExt;

use super::Plan;
use crate::data::layout::{read_exact, Slice};
use crate::data::to_file::{copy_slice, Route};
use crate::data::Span;

/// The scratch buffer for the bytes that are read and written.
pub const BUF: usize = 1 << 20;
/// Zeros at least this long are left as a hole rather than written.
const HOLE: u64 = 64 << 10;

/// Writes `plan` into `out`, a new, empty host file, and gives the file the plan's length
/// (a range of zeros at the end included). `progress` is told of the bytes done, piece by
/// piece (a hole counts as done when it is passed). Errors: a source's read error as it is
/// (the source named), the host's write error as an [`std::io::Error`].
pub fn write(plan: &Plan, out: &File, progress: &dyn Fn(u64)) -> anyhow::Result<()> {
    let mut buf = vec![0u8; BUF];
    // `out` is this copy's alone, from offset 0: `sendfile` may move its ranges.
    let (mut route, mut cursor) = (Route::CopyRange, 0u64);
    let mut pos = 0;
    // Bytes gathered in `buf` for the file's offset `pos - pending.len`.
    let mut pending = Gathered::default();
    let flush = |buf: &[u8], g: &Gathered, end: u64| -> anyhow::Result<()> {
        let data = &buf[g.data.clone()];
        if !data.is_empty() {
            out.write_all_at(data, end - (g.len - g.data.start) as u64)?;
        }
        progress(g.len as u64);
        Ok(())
    };
    for span in plan.spans() {
        let len = span.len();
        let zeros = matches!(span, Span::Zeros(_));
        let hole = zeros && len >= HOLE;
        let gathered = !span.in_host_file() && !hole;
        if gathered && len <= (BUF - pending.len) as u64 {
            let to = &mut buf[pending.len..pending.len + len as usize];
            match span {
                Span::Zeros(_) => to.fill(0),
                _ => read_exact(span, 0, to)?,
            }
            pending.add(len as usize, !zeros);
            pos += len;
            continue;
        }
        flush(&buf, &pending, pos)?;
        pending = Gathered::default();
        let slice = Slice {
            span,
            within: 0,
            len,
        };
        let how = (&mut route, Some(&mut cursor));
        copy_slice(&slice, pos, out, how, &mut buf, progress)?;
        pos += len;
    }
    flush(&buf, &pending, pos)?;
    out.set_len(plan.len())?;
    Ok(())
}

/// What the scratch buffer holds: `len` bytes gathered, of which those in `data` are to be
/// written; the zeros before and after them are not (the new file reads as zeros there, and
/// gets its length at the end): the padding between the files of a new image costs no call.
#[derive(Default)]
struct Gathered {
    len: usize,
    data: std::ops::Range<usize>,
}

impl Gathered {
    /// `n` more bytes gathered: data to write, or zeros.
    fn add(&mut self, n: usize, data: bool) {
        if data {
            if self.data.is_empty() {
                self.data.start = self.len;
            }
            self.data.end = self.len + n;
        }
        self.len += n;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;
    use std::os::unix::fs::MetadataExt;
    use std::sync::Arc;

    use super::*;
    use crate::data::tests::host_source;
    use crate::data::Span;
    use crate::source::{MemSource, Source};

    /// A plan of every kind of span: ranges of a host file (kept alive by the temp file
    /// returned), bytes, ranges of a source in memory, zeros inside and at the end; and the
    /// bytes it gives.
    pub fn mixed_plan(host_len: usize) -> (tempfile::NamedTempFile, Plan, Vec<u8>) {
        let (keep, host) = host_source(host_len);
        let mem: Arc<dyn Source> = Arc::new(MemSource::new((100..200).collect(), "mem"));
        let mut plan = Plan::new();
        plan.push_bytes(b"head".to_vec());
        plan.push(Span::source(&host, 3, host_len as u64 - 10));
        plan.push(Span::Zeros(70_000));
        plan.push(Span::source(&mem, 50, 14));
        plan.push(Span::source(&host, 0, 2));
        plan.pad_to(2048);
        plan.push(Span::Zeros(5000));
        let mut want = b"head".to_vec();
        want.extend((3..host_len - 7).map(|i| i as u8));
        want.extend([0; 70_000]);
        want.extend(150..164);
        want.extend([0, 1]);
        want.resize(want.len().next_multiple_of(2048) + 5000, 0);
        (keep, plan, want)
    }

    #[test]
    fn every_kind_of_span_lands_in_place_and_zeros_are_holes() {
        lands_in_place(tempfile::tempdir().unwrap());
    }

    #[test]
    fn ranges_of_a_file_on_another_filesystem_land_in_place_too() {
        // The host file is in the temporary directory, the new file in a tmpfs: the kernel
        // refuses copy_file_range between them, and sendfile moves the ranges.
        lands_in_place(tempfile::tempdir_in("/dev/shm").unwrap());
    }

    /// A mixed plan written into a new file in `dir`: the plan's bytes, holes for its zeros.
    fn lands_in_place(dir: tempfile::TempDir) {
        let (_keep, plan, want) = mixed_plan(3 << 20);
        let path = dir.path().join("new.iso");
        let told = Cell::new(0);
        write(&plan, &File::create(&path).unwrap(), &|n| {
            told.set(told.get() + n)
        })
        .unwrap();
        let got = std::fs::read(&path).unwrap();
        assert!(got == want, "the file holds other bytes than the plan's");
        assert_eq!(told.get(), plan.len());
        // The 70 000 zeros and the 5000 at the end take (most of) no blocks.
        let used = std::fs::metadata(&path).unwrap().blocks() * 512;
        assert!(used < plan.len() - 60_000, "{used} bytes used by the file");
    }

    #[test]
    fn short_runs_of_zeros_are_not_written_either() {
        let (_keep, host) = host_source(100);
        let mut plan = Plan::new();
        // 60 000 zeros in runs each too short to be a hole, then two padded ranges.
        for _ in 0..20 {
            plan.push(Span::Zeros(3000));
        }
        plan.push(Span::source(&host, 0, 10));
        plan.pad_to(2048);
        plan.push(Span::source(&host, 20, 10));
        plan.pad_to(2048);
        let mut want = vec![0u8; 60_000];
        want.extend(0..10);
        want.resize(want.len().next_multiple_of(2048), 0);
        want.extend(20..30);
        want.resize(want.len().next_multiple_of(2048), 0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zeros.iso");
        write(&plan, &File::create(&path).unwrap(), &|_| {}).unwrap();
        assert!(std::fs::read(&path).unwrap() == want);
        // The zeros before the ranges took no blocks.
        let used = std::fs::metadata(&path).unwrap().blocks() * 512;
        assert!(used <= 16 << 10, "{used} bytes used by the file");
    }

    #[test]
    fn an_empty_plan_is_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.iso");
        write(&Plan::new(), &File::create(&path).unwrap(), &|_| {}).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    }

    #[test]
    fn a_source_that_ends_early_names_it() {
        let mem: Arc<dyn Source> = Arc::new(MemSource::new(vec![1; 10], "small.img"));
        let mut plan = Plan::new();
        plan.push(Span::source(&mem, 4, 8));
        let dir = tempfile::tempdir().unwrap();
        let out = File::create(dir.path().join("x")).unwrap();
        let msg = format!("{:#}", write(&plan, &out, &|_| {}).unwrap_err());
        assert!(
            msg.contains("small.img: corrupt file extent at offset 10"),
            "{msg}"
        );
    }
}
