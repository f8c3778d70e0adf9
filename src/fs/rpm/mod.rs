//! RPM packages (in-house), read-only: the lead ([`lead`]), the signature header and the main
//! header ([`header`], padded to 8 bytes between them), and after them the payload, a cpio
//! archive (plain or compressed with gzip, bzip2, xz, lzma or zstd, recognised by its magic
//! whatever PAYLOADCOMPRESSOR says) mounted as the package's tree through the cpio reader
//! ([`crate::fs::cpio`]), with the modes, times and symlink targets of the header's file list
//! ([`files`]). Stripped payloads (`07070X` headers, which rpm writes for packages with files
//! of 4 GiB or more) are read through that list. Owners: the payload's numeric ids (what
//! `rpm2cpio | cpio` shows); the header's user and group names are in `info`.

pub mod files;
pub mod header;
pub mod lead;
pub mod tags;

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::fs::cpio::CpioFs;
use crate::fs::{DirEntry, FileSystem, Ino, Metadata, MountOptions, Span};
use crate::source::decoded::Codec;
use crate::source::{RangeSource, Source};
use files::FileList;
use header::Header;
use lead::Lead;

/// The headers of a package and where its payload starts.
pub struct Package {
    pub lead: Lead,
    pub signature: Header,
    pub header: Header,
    /// Offset of the main header.
    pub header_at: u64,
    /// Offset of the payload.
    pub payload_at: u64,
}

impl Package {
    /// Reads the lead and both headers of the package in `src`.
    pub fn read(src: &dyn Source) -> Result<Package> {
        let mut b = [0u8; lead::LEN];
        src.read_exact_at(0, &mut b, "rpm lead")?;
        let lead = Lead::decode(&b).ok_or_else(|| {
            Error::corrupt(src.name(), "rpm lead", 0, "no rpm magic (ed ab ee db)")
        })?;
        if !matches!(lead.major, 3 | 4) || lead.signature_type != lead::HEADER_SIGNATURE {
            return Err(Error::unsupported(
                src.name(),
                format!(
                    "rpm package format {}.{} with signature type {} (only v3 and v4 packages \
                     with a header-style signature, type 5, are read)",
                    lead.major, lead.minor, lead.signature_type
                ),
            ));
        }
        let at = lead::LEN as u64;
        let signature = Header::read(src, at, "rpm signature header")?;
        let header_at = (at + signature.size()).next_multiple_of(8);
        let header = Header::read(src, header_at, "rpm header")?;
        Ok(Package {
            lead,
            signature,
            payload_at: header_at + header.size(),
            header_at,
            header,
        })
    }
}

/// What `vfs-type` says of a package: `rpm (xz)`, with the payload's compression as its magic
/// says.
pub fn describe(src: &Arc<dyn Source>) -> Result<String> {
    let package = Package::read(src.as_ref())?;
    let mut head = [0u8; 6];
    let n = src.read_at(package.payload_at, &mut head)?;
    Ok(match Codec::sniff(&head[..n]) {
        Some(codec) => format!("rpm ({})", codec.name()),
        None => "rpm".into(),
    })
}

/// An opened RPM package: its headers, and its payload as a cpio tree.
pub struct RpmFs {
    source: Arc<dyn Source>,
    package: Package,
    files: Arc<FileList>,
    payload: CpioFs,
    /// The payload's compression, as its magic says.
    codec: Option<Codec>,
}

impl RpmFs {
    /// Opens the package in `source` (`memory=` and `limit=` bound the payload's decoding, as
    /// for a cpio archive).
    pub fn open(source: Arc<dyn Source>, options: &MountOptions) -> Result<Self> {
        let package = Package::read(source.as_ref())?;
        let format = package
            .header
            .string(tags::PAYLOADFORMAT)?
            .unwrap_or_else(|| "cpio".into());
        if format != "cpio" {
            return Err(Error::unsupported(
                source.name(),
                format!("rpm payload format {format} (only cpio is read)"),
            ));
        }
        let files = Arc::new(FileList::read(
            &package.header,
            source.name(),
            package.header_at,
        )?);
        let len = source.len().saturating_sub(package.payload_at);
        let name = format!("{} (payload at {})", source.name(), package.payload_at);
        let payload: Arc<dyn Source> = Arc::new(RangeSource::new(
            source.clone(),
            package.payload_at,
            len,
            name,
        ));
        let mut head = [0u8; 6];
        let n = payload.read_at(0, &mut head)?;
        let codec = Codec::sniff(&head[..n]);
        let payload = CpioFs::open_with(payload, options, Some(files.clone()))?;
        Ok(RpmFs {
            source,
            package,
            files,
            payload,
            codec,
        })
    }
}

impl FileSystem for RpmFs {
    fn type_name(&self) -> &'static str {
        "rpm"
    }
    fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }
    fn label(&self) -> Option<String> {
        let h = &self.package.header;
        let name = h.string(tags::NAME).ok().flatten()?;
        let version = h.string(tags::VERSION).ok().flatten().unwrap_or_default();
        let release = h.string(tags::RELEASE).ok().flatten().unwrap_or_default();
        Some(format!("{name}-{version}-{release}"))
    }
    fn root(&self) -> Ino {
        self.payload.root()
    }
    fn metadata(&self, ino: Ino) -> Result<Metadata> {
        self.payload.metadata(ino)
    }
    fn read_dir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        self.payload.read_dir(dir)
    }
    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Option<DirEntry>> {
        self.payload.lookup(dir, name)
    }
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.payload.read_at(ino, offset, buf)
    }
    fn spans(&self, ino: Ino) -> Result<Option<Vec<Span>>> {
        self.payload.spans(ino)
    }
    fn left_out(&self) -> Option<String> {
        self.payload.left_out()
    }
    fn detail(&self) -> Option<String> {
        self.payload.detail()
    }
    fn info(&self) -> Vec<(String, String)> {
        let h = &self.package.header;
        let mut v = vec![("Package".to_string(), self.package.lead.describe())];
        let text = |tag| h.string(tag).ok().flatten();
        for (label, tag) in [
            ("Name", tags::NAME),
            ("Version", tags::VERSION),
            ("Release", tags::RELEASE),
        ] {
            v.push((label.into(), text(tag).unwrap_or_default()));
        }
        if let Ok(Some(epoch)) = h.int(tags::EPOCH) {
            v.push(("Epoch".into(), epoch.to_string()));
        }
        for (label, tag) in [
            ("Architecture", tags::ARCH),
            ("OS", tags::OS),
            ("Summary", tags::SUMMARY),
            ("License", tags::LICENSE),
            ("Source RPM", tags::SOURCERPM),
            ("Build host", tags::BUILDHOST),
        ] {
            if let Some(s) = text(tag) {
                v.push((label.into(), s));
            }
        }
        if let Ok(Some(t)) = h.int(tags::BUILDTIME) {
            v.push(("Build time".into(), t.to_string()));
        }
        let size = h.int(tags::LONGSIZE).ok().flatten();
        if let Some(size) = size.or(h.int(tags::SIZE).ok().flatten()) {
            v.push(("Installed size".into(), size.to_string()));
        }
        let ghosts = match self.files.ghosts() {
            0 => String::new(),
            n => format!(" ({n} %ghost, not in the payload)"),
        };
        v.push(("Files".into(), format!("{}{ghosts}", self.files.len())));
        let (users, groups) = self.files.owners();
        v.push(("Owners".into(), users.join(", ")));
        v.push(("Groups".into(), groups.join(", ")));
        v.push((
            "Payload format".into(),
            text(tags::PAYLOADFORMAT).unwrap_or_else(|| "cpio".into()),
        ));
        let magic = self.codec.map_or("none", |c| c.name());
        let compressor = match text(tags::PAYLOADCOMPRESSOR) {
            Some(tag) if tag == magic => tag,
            Some(tag) => format!("{tag} (the payload's magic says {magic})"),
            None => format!("{magic} (by the payload's magic; no PAYLOADCOMPRESSOR tag)"),
        };
        v.push(("Payload compressor".into(), compressor));
        if let Some(flags) = text(tags::PAYLOADFLAGS) {
            v.push(("Payload flags".into(), flags));
        }
        v.push(("Payload offset".into(), self.package.payload_at.to_string()));
        let sig = &self.package.signature;
        let signatures = sig.present(&tags::SIGNATURES);
        v.push((
            "Signature header".into(),
            if signatures.is_empty() {
                "no digests".into()
            } else {
                signatures.join(", ")
            },
        ));
        if let Some(size) = sig
            .int(tags::SIG_LONGSIZE)
            .ok()
            .flatten()
            .or(sig.int(tags::SIG_SIZE).ok().flatten())
        {
            v.push(("Header and payload size".into(), size.to_string()));
        }
        v.extend(
            self.payload
                .info()
                .into_iter()
                .filter(|(k, _)| k != "Filesystem")
                .map(|(k, val)| (format!("Payload {}", k.to_lowercase()), val)),
        );
        v
    }
}
