//! A [`Plan`] written to a stream that is never seeked ([`write()`]): standard output, a pipe
//! into a host command, a file opened by the shell's redirection. Ranges of host files go to
//! the descriptor behind the stream without passing through user space
//! ([`Direct`](crate::data::Direct): `splice` into a pipe, `copy_file_range` into a regular
//! file, `sendfile` into a socket); every other span, and everything when the host refuses, is
//! read and written; zeros are written as zeros. This is how `commit -` sends the new image to
//! standard output.

use std::io::Write;
use std::os::fd::BorrowedFd;

use super::to_file::BUF;
use super::Plan;
use crate::data::to_stream::write_spans;

/// Writes `plan` to `out`; `fd` is the descriptor behind `out` when there is one (the
/// command's output descriptor), which direct moves go to after `out` is flushed. `progress`
/// is told of the bytes written, piece by piece.
pub fn write(
    plan: &Plan,
    out: &mut dyn Write,
    fd: Option<BorrowedFd>,
    progress: &dyn Fn(u64),
) -> anyhow::Result<()> {
    let mut buf = vec![0u8; BUF];
    write_spans(plan.spans().iter(), plan.len(), out, fd, &mut buf, progress)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::fs::File;
    use std::io::Read;
    use std::os::fd::AsFd;

    use super::*;
    use crate::plan::to_file::tests::mixed_plan;

    #[test]
    fn a_plan_goes_into_a_pipe_in_order() {
        let (_keep, plan, want) = mixed_plan(3 << 20);
        let (read_end, write_end) = rustix::pipe::pipe().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            File::from(read_end).read_to_end(&mut got).unwrap();
            got
        });
        // Nothing may go through the buffered writer: all of it is moved into the descriptor.
        let told = Cell::new(0);
        let mut out = std::io::sink();
        let fd = write_end.as_fd();
        write(&plan, &mut out, Some(fd), &|n| told.set(told.get() + n)).unwrap();
        drop(write_end);
        let got = reader.join().unwrap();
        assert!(got == want, "the pipe gave {} other bytes", got.len());
        assert_eq!(told.get(), plan.len());
    }

    #[test]
    fn a_plan_goes_into_a_writer_without_a_descriptor() {
        let (_keep, plan, want) = mixed_plan(100_000);
        let mut out = Vec::new();
        write(&plan, &mut out, None, &|_| {}).unwrap();
        assert!(out == want);
    }

    #[test]
    fn a_plan_goes_into_a_regular_file_behind_the_stream() {
        let (_keep, plan, want) = mixed_plan(200_000);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.iso");
        let mut file = File::create(&path).unwrap();
        // What the writer held before the plan stays before it.
        let mut out = std::io::BufWriter::new(file.try_clone().unwrap());
        out.write_all(b">>").unwrap();
        write(&plan, &mut out, Some(file.as_fd()), &|_| {}).unwrap();
        drop(out);
        file.flush().unwrap();
        let got = std::fs::read(&path).unwrap();
        assert!(got[..2] == *b">>" && got[2..] == want[..]);
    }

    #[test]
    fn a_closed_pipe_is_an_error() {
        let (_keep, plan, _) = mixed_plan(100_000);
        let (read_end, write_end) = rustix::pipe::pipe().unwrap();
        drop(read_end);
        let err = write(
            &plan,
            &mut std::io::sink(),
            Some(write_end.as_fd()),
            &|_| {},
        );
        assert!(err.is_err());
    }
}
