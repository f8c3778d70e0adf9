//! FAT12, FAT16 and FAT32 with long names through fatfs (read-only: the adapter refuses
//! writes; [`write`](mod@write) rebuilds an image from a changed tree). The crate speaks in
//! paths, so inode numbers come from a [`InoTable`]: files are known by path, directories by where their entries start on the volume, so a directory
//! reached again through a damaged `.` or `..` entry (renamed to an ordinary name) has the
//! number of the one it points at and a walk refuses the loop. FAT keeps no
//! owners or permissions: files show as 0644 and directories as 0755 (0444/0555 when read-only),
//! owned by root; times are the recorded local times taken as UTC, as mtools shows them.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use fatfs::{DateTime, FileAttributes, FsOptions};

mod chain;
mod locked;
pub mod write;

use chain::Table;
use locked::SendFs;

use crate::error::{lock_state, Error, Result};
use crate::fs::inotable::{join, InoTable};
use crate::fs::left_out::{self, At, LeftOut};
use crate::fs::{Attribute, DirEntry, FileKind, FileSystem, Ino, Metadata, Timestamp};
use crate::ondisk::{fat_date, Fields};
use crate::source::Source;

/// fatfs's disk: our source, read-only. fatfs alternates small reads of the FAT with reads
/// of clusters, so small reads go through a few cached 4 KiB pages and large ones straight
/// to the source.
struct Disk {
    source: Arc<dyn Source>,
    pos: u64,
    /// Recently read pages, most recent last.
    pages: Vec<(u64, Vec<u8>)>,
    reads: Arc<Reads>,
}

/// Where fatfs's reads went, which tells where the directory entries it hands out lie.
#[derive(Default)]
struct Reads {
    /// Where the first read since it was set to [`ARMED`] began (see [`dir_key`]).
    first: AtomicU64,
    /// Where the latest read began (see [`FatFs::entry_cluster`]).
    last: AtomicU64,
}

/// `Reads::first` waits for the next read.
const ARMED: u64 = u64::MAX;

const PAGE: u64 = 4096;
const PAGES: usize = 32;

impl Disk {
    fn page(&mut self, index: u64) -> io::Result<&[u8]> {
        if let Some(i) = self.pages.iter().position(|(p, _)| *p == index) {
            let page = self.pages.remove(i);
            self.pages.push(page);
        } else {
            let mut data = vec![0; PAGE as usize];
            let n = self
                .source
                .read_at(index * PAGE, &mut data)
                .map_err(io::Error::other)?;
            data.truncate(n);
            if self.pages.len() >= PAGES {
                self.pages.remove(0);
            }
            self.pages.push((index, data));
        }
        Ok(&self.pages[self.pages.len() - 1].1)
    }
}

impl Read for Disk {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Only the first read after arming is kept; a failed exchange is the normal case.
        let _ = self.reads.first.compare_exchange(
            ARMED,
            self.pos,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        self.reads.last.store(self.pos, Ordering::Relaxed);
        let n = if buf.len() as u64 >= PAGE {
            self.source
                .read_at(self.pos, buf)
                .map_err(io::Error::other)?
        } else {
            let within = (self.pos % PAGE) as usize;
            let page = self.page(self.pos / PAGE)?;
            let avail = page.get(within..).unwrap_or_default();
            let n = buf.len().min(avail.len());
            buf[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.pos += n as u64;
        Ok(n)
    }
}
impl Seek for Disk {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.source.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before byte 0"))?;
        Ok(self.pos)
    }
}
impl Write for Disk {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "isofish reads FAT images; it does not write them",
        ))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An opened FAT filesystem.
pub struct FatFs {
    source: Arc<dyn Source>,
    inner: Mutex<SendFs>,
    label: String,
    fat_type: &'static str,
    paths: InoTable<Key>,
    reads: Arc<Reads>,
    /// Bytes per cluster.
    cluster_size: u64,
    /// The FAT, to check chains before fatfs follows them.
    table: Table,
    /// FAT32's root directory cluster (0 on FAT12 and FAT16, whose root has no chain).
    root_cluster: u64,
    /// The first cluster of each node listed so far, and where its directory entry lies.
    firsts: Mutex<HashMap<Ino, (u64, u64)>>,
    /// Files whose chain has been checked as far as their size needs.
    checked: Mutex<HashSet<Ino>>,
    /// The entries left out of listings (names that are not file names).
    left_out: LeftOut,
}

/// What tells FAT nodes apart.
#[derive(Hash, PartialEq, Eq)]
enum Key {
    /// A directory, by the byte offset where its entries start.
    Dir(u64),
    /// A file (or a directory whose entries could not be read), by path.
    Path(Vec<u8>),
}

fn stamp(t: DateTime) -> Timestamp {
    fat_date::from_fields(
        (t.date.year, t.date.month, t.date.day),
        (t.time.hour, t.time.min, t.time.sec),
        t.time.millis,
    )
}

fn meta(is_dir: bool, attrs: FileAttributes, size: u64, mtime: Timestamp) -> Metadata {
    let mut mode = if is_dir { 0o755 } else { 0o644 };
    if attrs.contains(FileAttributes::READ_ONLY) {
        mode &= !0o222;
    }
    Metadata {
        kind: if is_dir {
            FileKind::Dir
        } else {
            FileKind::File
        },
        mode,
        uid: 0,
        gid: 0,
        size: if is_dir { 0 } else { size },
        nlink: if is_dir { 2 } else { 1 },
        ino: 0,
        mtime,
        atime: mtime,
        ctime: mtime,
        rdev: None,
        symlink: None,
        allocated: size,
    }
}

fn io_err(image: &str, path: &[u8], e: io::Error) -> Error {
    let path = String::from_utf8_lossy(path).into_owned();
    match e.kind() {
        io::ErrorKind::NotFound => Error::NotFound(path),
        _ => Error::corrupt(image, "FAT structure", 0, format!("{path}: {e}")),
    }
}

/// The key of directory `dir`, found at `path`: the offset of its first entry, which is the
/// first thing fatfs reads when it lists a directory (its first cluster, or the FAT12/16
/// root area). An entry without a first cluster opens as the root, and gets the root's key.
fn dir_key(reads: &Reads, dir: &fatfs::Dir<'_, Disk>, path: &[u8]) -> Key {
    reads.first.store(ARMED, Ordering::Relaxed);
    // An error here is met again, and reported, when the directory is listed.
    let _ = dir.iter().next();
    match reads.first.swap(0, Ordering::Relaxed) {
        ARMED => Key::Path(path.to_vec()),
        at => Key::Dir(at),
    }
}

/// Whether a first cluster (0: none) cannot be one of the volume's: clusters start at 2, and
/// fatfs's arithmetic overflows on 1 or on one far past the end.
fn outside(cluster: u64, cluster_size: u64, len: u64) -> bool {
    cluster == 1 || cluster.saturating_mul(cluster_size) > len
}

/// fatfs takes paths relative to the root directory.
fn rel(path: &[u8]) -> Result<&str> {
    std::str::from_utf8(path)
        .map(|p| p.trim_start_matches('/'))
        .map_err(|_| Error::NotFound(String::from_utf8_lossy(path).into_owned()))
}

impl FatFs {
    /// Reads the boot sector of the FAT filesystem in `source`.
    pub fn open(source: Arc<dyn Source>) -> Result<Self> {
        let name = source.name().to_string();
        let reads = Arc::new(Reads::default());
        let disk = Disk {
            source: source.clone(),
            pos: 0,
            pages: Vec::new(),
            reads: reads.clone(),
        };
        let fs = fatfs::FileSystem::new(disk, FsOptions::new())
            .map_err(|e| Error::corrupt(&name, "FAT boot sector", 0, e.to_string()))?;
        let label = fs.volume_label().trim_end().to_string();
        let fat_type = match fs.fat_type() {
            fatfs::FatType::Fat12 => "FAT12",
            fatfs::FatType::Fat16 => "FAT16",
            fatfs::FatType::Fat32 => "FAT32",
        };
        let cluster_size = u64::from(fs.cluster_size());
        let table = Table::read(&source, fs.fat_type())?;
        let mut root_cluster = 0;
        if fs.fat_type() == fatfs::FatType::Fat32 {
            let sector = source.read_vec(0, 48, "FAT boot sector")?;
            let root = Fields::new(&sector, &name, "FAT boot sector", 0).le32(44)?;
            if root == 0 || outside(root.into(), cluster_size, source.len()) {
                return Err(Error::corrupt(
                    &name,
                    "FAT boot sector",
                    44,
                    format!("the root directory's cluster {root} is outside the volume"),
                ));
            }
            root_cluster = u64::from(root);
            table.check(source.as_ref(), (root_cluster, 44), None, b"/")?;
        }
        let root = meta(true, FileAttributes::DIRECTORY, 0, Timestamp::default());
        let root_key = dir_key(&reads, &fs.root_dir(), b"/");
        Ok(FatFs {
            source,
            inner: Mutex::new(SendFs::new(fs)),
            label,
            fat_type,
            paths: InoTable::new(root_key, root),
            reads,
            cluster_size,
            table,
            root_cluster,
            firsts: Mutex::new(HashMap::new()),
            checked: Mutex::new(HashSet::new()),
            left_out: LeftOut::default(),
        })
    }

    /// The offset of the (short) directory entry fatfs has just handed out: its last read was
    /// the entry's size field, at byte 28.
    fn entry_at(&self) -> u64 {
        self.reads.last.load(Ordering::Relaxed).saturating_sub(28)
    }

    fn lock(&self) -> Result<MutexGuard<'_, SendFs>> {
        lock_state(&self.inner, "FAT reader")
    }

    /// Checks the first cluster of the entry fatfs has just handed out (`path`, in a
    /// directory being listed) before fatfs follows it: cluster 1, or one past the end of
    /// the volume, would make fatfs's cluster arithmetic overflow. The entry's 32 bytes are
    /// found from the last read fatfs made, the entry's size field at byte 28. Returns the
    /// first cluster and the entry's offset.
    fn check_cluster(&self, fs: &SendFs, path: &[u8]) -> Result<(u64, u64)> {
        let image = self.source.name();
        let at = self.entry_at();
        let raw = self.source.read_vec(at, 32, "FAT directory entry")?;
        let f = Fields::new(&raw, image, "FAT directory entry", at);
        let high = if fs.fat_type() == fatfs::FatType::Fat32 {
            f.le16(20)?
        } else {
            0
        };
        let cluster = u64::from(high) << 16 | u64::from(f.le16(26)?);
        if outside(cluster, self.cluster_size, self.source.len()) {
            return Err(Error::corrupt(
                image,
                "FAT directory entry",
                at,
                format!(
                    "{}: first cluster {cluster} is outside the volume",
                    String::from_utf8_lossy(path)
                ),
            ));
        }
        Ok((cluster, at))
    }

    /// The attribute byte of node `ino`'s directory entry as the image holds it (read-only,
    /// hidden, system, archive...); `None` for the root and for nodes no listing has shown.
    pub(super) fn attributes(&self, ino: Ino) -> Result<Option<u8>> {
        match self.first(ino)? {
            _ if ino == 0 => Ok(None),
            (_, 0) => Ok(None),
            (_, at) => Ok(Some(
                self.source.read_vec(at + 11, 1, "FAT directory entry")?[0],
            )),
        }
    }

    /// The first cluster of node `ino` and where its entry lies, as its listing found them
    /// (FAT32's root: the boot sector's).
    fn first(&self, ino: Ino) -> Result<(u64, u64)> {
        if ino == 0 {
            return Ok((self.root_cluster, 44));
        }
        let firsts = lock_state(&self.firsts, "FAT reader")?;
        Ok(firsts.get(&ino).copied().unwrap_or_default())
    }
}

impl FileSystem for FatFs {
    fn type_name(&self) -> &'static str {
        "vfat"
    }
    fn left_out(&self) -> Option<String> {
        self.left_out.said()
    }
    fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }
    fn label(&self) -> Option<String> {
        (!self.label.is_empty() && self.label != "NO NAME").then(|| self.label.clone())
    }
    fn root(&self) -> Ino {
        0
    }
    fn metadata(&self, ino: Ino) -> Result<Metadata> {
        Ok(self.paths.get(ino)?.1)
    }
    fn read_dir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        let (path, _) = self.paths.get(dir)?;
        let image = self.source.name();
        if dir != 0 || self.root_cluster != 0 {
            self.table
                .check(self.source.as_ref(), self.first(dir)?, None, &path)?;
        }
        let fs = self.lock()?;
        let root = fs.root_dir();
        let d = if dir == 0 {
            root
        } else {
            root.open_dir(rel(&path)?)
                .map_err(|e| io_err(image, &path, e))?
        };
        // A directory whose cluster chain loops would list forever: no directory can hold
        // more entries than the volume has 32-byte slots.
        let max = self.source.len() / 32;
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (n, entry) in d.iter().enumerate() {
            if n as u64 > max {
                return Err(Error::corrupt(
                    image,
                    "FAT directory",
                    0,
                    format!(
                        "{} lists more entries than the volume can hold (a cluster loop)",
                        String::from_utf8_lossy(&path)
                    ),
                ));
            }
            let entry = entry.map_err(|e| io_err(image, &path, e))?;
            let name = entry.file_name().into_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            // A long name holding `/` or NUL: left out, the rest of the directory read.
            if let Some(why) = left_out::bad_name(&name) {
                let at = At {
                    image,
                    structure: "FAT directory entry",
                    offset: self.entry_at(),
                };
                self.left_out.entry(&at, &name, why);
                continue;
            }
            // A valid directory never holds a name twice: a repeat means its chain looped.
            if !seen.insert(name.clone()) {
                return Err(Error::corrupt(
                    image,
                    "FAT directory entry",
                    self.entry_at(),
                    format!(
                        "{} lists {} twice (a cluster loop)",
                        String::from_utf8_lossy(&path),
                        String::from_utf8_lossy(&name)
                    ),
                ));
            }
            let m = meta(
                entry.is_dir(),
                entry.attributes(),
                entry.len(),
                stamp(entry.modified()),
            );
            let child = join(&path, &name);
            let first = self.check_cluster(&fs, &child)?;
            // A directory whose chain does not hold is not entered to key it: listing it
            // reports the fault.
            let key = if entry.is_dir()
                && self
                    .table
                    .check(self.source.as_ref(), first, None, &child)
                    .is_ok()
            {
                dir_key(&self.reads, &entry.to_dir(), &child)
            } else {
                Key::Path(child.clone())
            };
            let m = self.paths.intern(key, child, m)?;
            lock_state(&self.firsts, "FAT reader")?.insert(m.ino, first);
            out.push(DirEntry {
                name,
                ino: m.ino,
                meta: m,
            });
        }
        Ok(out)
    }
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let (path, meta) = self.paths.get(ino)?;
        if meta.kind != FileKind::File {
            return Err(Error::IsADirectory(
                String::from_utf8_lossy(&path).into_owned(),
            ));
        }
        if offset >= meta.size {
            return Ok(0);
        }
        let want = buf.len().min((meta.size - offset) as usize);
        if !lock_state(&self.checked, "FAT reader")?.contains(&ino) {
            let clusters = meta.size.div_ceil(self.cluster_size);
            self.table.check(
                self.source.as_ref(),
                self.first(ino)?,
                Some(clusters),
                &path,
            )?;
            lock_state(&self.checked, "FAT reader")?.insert(ino);
        }
        let image = self.source.name();
        let fs = self.lock()?;
        let mut file = fs
            .root_dir()
            .open_file(rel(&path)?)
            .map_err(|e| io_err(image, &path, e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| io_err(image, &path, e))?;
        let mut done = 0;
        while done < want {
            let n = file
                .read(&mut buf[done..want])
                .map_err(|e| io_err(image, &path, e))?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }
    fn detail(&self) -> Option<String> {
        Some(self.fat_type.to_string())
    }
    fn name_fit(&self, name: &[u8], _is_dir: bool) -> Result<Option<String>> {
        match write::fat_name(name) {
            Err(why) => Err(Error::CannotStoreName {
                path: String::from_utf8_lossy(name).into_owned(),
                format: "FAT",
                why,
            }),
            Ok(_) => Ok(None),
        }
    }
    fn refuses(&self, what: Attribute) -> Option<String> {
        Some(format!("FAT records no {}", what.name()))
    }
    fn info(&self) -> Vec<(String, String)> {
        vec![
            ("Filesystem".into(), self.fat_type.into()),
            ("Label".into(), self.label.clone()),
        ]
    }
}
