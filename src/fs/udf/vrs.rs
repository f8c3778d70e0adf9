//! The volume recognition sequence (ECMA-167 2/9): the `BEA01`, `NSR02`/`NSR03` and `TEA01`
//! structure descriptors from byte 32768 on that say a volume holds UDF (probed in
//! [`crate::fs::probe::has_udf_vrs`]); encoded.

/// Length of one structure descriptor.
pub const LEN: usize = 2048;

/// One volume structure descriptor: type 0, `ident`, version 1, zeros.
pub fn descriptor(ident: &[u8; 5]) -> Vec<u8> {
    let mut b = vec![0u8; LEN];
    b[1..6].copy_from_slice(ident);
    b[6] = 1;
    b
}

/// The identifier of the NSR descriptor of UDF revision `revision` (`NSR02` below 2.00).
pub fn nsr(revision: u16) -> &'static [u8; 5] {
    if revision < 0x0200 {
        b"NSR02"
    } else {
        b"NSR03"
    }
}

/// The three descriptors of an extended area with the NSR of `revision`, each starting a
/// `stride`-byte unit (2048, or the block size where blocks are larger).
pub fn sequence(revision: u16, stride: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(3 * stride);
    for ident in [b"BEA01", nsr(revision), b"TEA01"] {
        let mut d = descriptor(ident);
        d.resize(stride.max(LEN), 0);
        out.extend(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_descriptor_per_stride() {
        let s = sequence(0x0250, 4096);
        assert_eq!(s.len(), 3 * 4096);
        assert_eq!(&s[4097..4102], b"NSR03");
        assert_eq!(&sequence(0x0102, 2048)[2049..2054], b"NSR02");
    }
}
