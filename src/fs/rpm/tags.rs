//! The numbers of the RPM header tags isofish reads (rpm's `rpmtag.h`), of the main header and
//! of the signature header, and the file flags it looks at.

// The main header.
pub const NAME: u32 = 1000;
pub const VERSION: u32 = 1001;
pub const RELEASE: u32 = 1002;
pub const EPOCH: u32 = 1003;
pub const SUMMARY: u32 = 1004;
pub const BUILDTIME: u32 = 1006;
pub const BUILDHOST: u32 = 1007;
pub const SIZE: u32 = 1009;
pub const LICENSE: u32 = 1014;
pub const OS: u32 = 1021;
pub const ARCH: u32 = 1022;
pub const OLDFILENAMES: u32 = 1027;
pub const FILESIZES: u32 = 1028;
pub const FILEMODES: u32 = 1030;
pub const FILERDEVS: u32 = 1033;
pub const FILEMTIMES: u32 = 1034;
pub const FILELINKTOS: u32 = 1036;
pub const FILEFLAGS: u32 = 1037;
pub const FILEUSERNAME: u32 = 1039;
pub const FILEGROUPNAME: u32 = 1040;
pub const SOURCERPM: u32 = 1044;
pub const FILEDEVICES: u32 = 1095;
pub const FILEINODES: u32 = 1096;
pub const DIRINDEXES: u32 = 1116;
pub const BASENAMES: u32 = 1117;
pub const DIRNAMES: u32 = 1118;
pub const PAYLOADFORMAT: u32 = 1124;
pub const PAYLOADCOMPRESSOR: u32 = 1125;
pub const PAYLOADFLAGS: u32 = 1126;
pub const LONGFILESIZES: u32 = 5008;
pub const LONGSIZE: u32 = 5009;

// The signature header.
pub const SIG_SIZE: u32 = 1000;
pub const SIG_LONGSIZE: u32 = 270;

/// The signature header's digests and signatures, as `info` names them.
pub const SIGNATURES: [(u32, &str); 8] = [
    (1004, "MD5"),
    (269, "SHA1"),
    (273, "SHA256"),
    (267, "DSA"),
    (268, "RSA"),
    (1002, "PGP"),
    (1005, "GPG"),
    (278, "OpenPGP"),
];

/// `FILEFLAGS`: a `%ghost` file, listed but not in the payload.
pub const FILE_GHOST: u64 = 1 << 6;
