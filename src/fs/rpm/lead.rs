//! The RPM lead: the package's first 96 bytes (magic `ed ab ee db`, the format version, binary
//! or source, an architecture and OS number, the package's name, the signature type). rpm
//! itself only checks it; the headers after it say everything it does, and more.

/// Length of the lead.
pub const LEN: usize = 96;
/// The magic at its start.
pub const MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];
/// The signature type of every package since rpm 3: a signature header follows.
pub const HEADER_SIGNATURE: u16 = 5;

/// A lead as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lead {
    pub major: u8,
    pub minor: u8,
    /// 0 for a binary package, 1 for a source package.
    pub kind: u16,
    pub arch: u16,
    /// `NAME-VERSION-RELEASE`, cut at 65 bytes.
    pub name: Vec<u8>,
    pub os: u16,
    pub signature_type: u16,
}

impl Lead {
    /// Decodes a lead; `None` without the magic.
    pub fn decode(b: &[u8; LEN]) -> Option<Lead> {
        if b[..4] != MAGIC {
            return None;
        }
        let be16 = |at: usize| u16::from_be_bytes([b[at], b[at + 1]]);
        let name = &b[10..76];
        let end = name.iter().position(|c| *c == 0).unwrap_or(name.len());
        Some(Lead {
            major: b[4],
            minor: b[5],
            kind: be16(6),
            arch: be16(8),
            name: name[..end].to_vec(),
            os: be16(76),
            signature_type: be16(78),
        })
    }

    /// What file(1) says of it: `RPM v3.0 bin i386/x86_64`.
    pub fn describe(&self) -> String {
        let mut s = format!("RPM v{}.{}", self.major, self.minor);
        match self.kind {
            0 => s.push_str(" bin"),
            1 => s.push_str(" src"),
            _ => {}
        }
        if self.kind == 0 {
            if let Some(arch) = arch_name(self.arch) {
                s.push(' ');
                s.push_str(arch);
            }
        }
        s
    }
}

/// The architecture numbers of rpm's `rpmrc` as file(1) names them.
fn arch_name(n: u16) -> Option<&'static str> {
    Some(match n {
        1 => "i386/x86_64",
        2 => "Alpha/Sparc64",
        3 => "Sparc",
        4 => "MIPS",
        5 => "PowerPC",
        6 => "68000",
        7 => "SGI",
        8 => "RS6000",
        9 => "IA64",
        10 => "Sparc64",
        11 => "MIPSel",
        12 => "ARM",
        13 => "MiNT",
        14 => "S/390",
        15 => "S/390x",
        16 => "PowerPC64",
        17 => "SuperH",
        18 => "Xtensa",
        19 => "AArch64",
        20 => "MIPSR6",
        21 => "MIPSR6el",
        22 => "RISC-V",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_lead() {
        let mut b = [0u8; LEN];
        b[..4].copy_from_slice(&MAGIC);
        b[4] = 3;
        b[9] = 1;
        b[10..21].copy_from_slice(b"hello-1.2-3");
        b[79] = 5;
        let lead = Lead::decode(&b).unwrap();
        assert_eq!(lead.name, b"hello-1.2-3");
        assert_eq!(lead.signature_type, HEADER_SIGNATURE);
        assert_eq!(lead.describe(), "RPM v3.0 bin i386/x86_64");
        b[0] = 0;
        assert_eq!(Lead::decode(&b), None);
    }
}
