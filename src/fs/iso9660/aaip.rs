//! AAIP (Arbitrary Attribute Interchange Protocol 2.0, libisofs's `doc/susp_aaip_2_0.txt`):
//! the extended attributes and ACLs xorriso records (`-xattr`, `-acl`) in `AL` entries (`AA`
//! in AAIP 1.0 images). An attribute list is a run of component records laid out as in a
//! Rock Ridge SL entry, over as many entries (and continuation areas) as it needs; each two
//! components are a name and a value.
//!
//! Choices where the specification leaves room:
//! - Names get their namespace back from the short notation (0x02 `system.`, 0x03 `user.`,
//!   0x05 `trusted.`, 0x06 `security.`, 0x01 escapes a literal first byte). `isofs.` names
//!   (0x04, libisofs's own bookkeeping: inode numbers, checksums) are not the file's
//!   attributes and are left out, as xorriso's `-getfattr` does; so are names with the
//!   reserved codes 0x07 to 0x1f, whose meaning is not defined yet.
//! - The empty name carries the file's ACLs in AAIP's compact form: it becomes the Linux
//!   `system.posix_acl_access` and `system.posix_acl_default` attributes in the
//!   `posix_acl_xattr` form (version 2, then tag, permissions and id per entry, little-endian,
//!   sorted by tag and id), the values `getfattr` shows for the files xorriso extracts. An
//!   access ACL of only the owner, group and other entries says no more than the mode and is
//!   left out, as Linux does. With `-xattr any`, xorriso records `system.posix_acl_*` as
//!   attributes too: where both forms are present, the attribute as recorded wins.
//! - TRANSLATE entries (name hints for ids) and entry types the specification reserves are
//!   skipped.

use super::susp::Entry;
use crate::error::{Error, Result};
use crate::fs::Xattr;

/// A recorded attribute: its name in the short notation, its value, the value's offset.
type Pair = (Vec<u8>, Vec<u8>, u64);

/// The short notation's code of the `isofs.` namespace.
const ISOFS: u8 = 0x04;
/// Linux ACL tags (`<linux/posix_acl.h>`).
const ACL_USER_OBJ: u16 = 0x01;
const ACL_USER: u16 = 0x02;
const ACL_GROUP_OBJ: u16 = 0x04;
const ACL_GROUP: u16 = 0x08;
const ACL_MASK: u16 = 0x10;
const ACL_OTHER: u16 = 0x20;
/// The id of the entries that have none.
const ACL_UNDEFINED_ID: u32 = u32::MAX;
/// The version word of Linux's `posix_acl_xattr` form.
const POSIX_ACL_XATTR_VERSION: u32 = 2;

/// The attribute list of one directory record, fed one AL entry at a time.
#[derive(Default)]
pub struct AttributeList {
    /// The component areas of the entries one after the other: a component record may
    /// continue in the next entry's area.
    bytes: Vec<u8>,
    /// Where each entry's area starts in `bytes`, and the entry's offset in the source.
    starts: Vec<(usize, u64)>,
}

fn corrupt(image: &str, offset: u64, detail: impl Into<String>) -> Error {
    Error::corrupt(image, "AAIP attribute list", offset, detail)
}

impl AttributeList {
    /// Adds one AL (or AAIP 1.0 AA) entry: a flags byte, then its component area.
    pub fn add(&mut self, image: &str, e: &Entry) -> Result<()> {
        let Some((_flags, area)) = e.data.split_first() else {
            return Err(corrupt(image, e.offset, "AL entry without its flags byte"));
        };
        self.starts.push((self.bytes.len(), e.offset));
        self.bytes.extend_from_slice(area);
        Ok(())
    }

    /// The source offset of byte `pos` of the joined component areas.
    fn offset_of(&self, pos: usize) -> u64 {
        let i = self.starts.partition_point(|&(start, _)| start <= pos);
        let (start, entry) = self.starts[i.saturating_sub(1)];
        // The 4-byte entry header and the flags byte come before the area.
        entry + 5 + (pos - start) as u64
    }

    /// The attributes: pairs of name and value, the ACLs converted, `isofs.` names left out.
    pub fn finish(self, image: &str) -> Result<Vec<Xattr>> {
        let mut out: Vec<Xattr> = Vec::new();
        let mut acls = Vec::new();
        for (name, value, at) in self.pairs(image)? {
            if name.is_empty() {
                acls.extend(decode_acl(image, at, &value)?);
            } else if let Some(name) = full_name(&name) {
                out.push(Xattr { name, value });
            }
        }
        for acl in acls {
            if !out.iter().any(|x| x.name == acl.name) {
                out.push(acl);
            }
        }
        Ok(out)
    }

    /// The value of libisofs's own attribute `isofs.NAME` (its bookkeeping, which
    /// [`AttributeList::finish`] leaves out), if recorded: `name` without the namespace.
    pub fn isofs(self, image: &str, name: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.pairs(image)?.into_iter().find_map(|(n, value, _)| {
            let short = n.strip_prefix(&[ISOFS][..]);
            let long = n.strip_prefix(&b"isofs."[..]);
            (short.or(long) == Some(name)).then_some(value)
        }))
    }

    /// The pairs of name (in the short notation) and value, with the source offset of each
    /// value.
    fn pairs(self, image: &str) -> Result<Vec<Pair>> {
        // Components, each with the position of its first record.
        let mut components: Vec<(Vec<u8>, usize)> = Vec::new();
        let mut open: Option<(Vec<u8>, usize)> = None;
        let mut pos = 0;
        while pos < self.bytes.len() {
            let Some(&[flags, len]) = self.bytes.get(pos..pos + 2) else {
                return Err(corrupt(
                    image,
                    self.offset_of(pos),
                    "component record header cut short",
                ));
            };
            let len = usize::from(len);
            let content = self.bytes.get(pos + 2..pos + 2 + len).ok_or_else(|| {
                corrupt(
                    image,
                    self.offset_of(pos),
                    format!(
                        "component record of {len} bytes passes the last AL entry ({} left)",
                        self.bytes.len() - pos - 2
                    ),
                )
            })?;
            let (buf, _) = open.get_or_insert_with(|| (Vec::new(), pos));
            buf.extend_from_slice(content);
            if flags & 0x01 == 0 {
                components.extend(open.take());
            }
            pos += 2 + len;
        }
        if let Some((_, start)) = open {
            return Err(corrupt(
                image,
                self.offset_of(start),
                "the attribute list ends inside this component (CONTINUE flag on its last record)",
            ));
        }
        if !components.len().is_multiple_of(2) {
            let (_, at) = components[components.len() - 1];
            return Err(corrupt(
                image,
                self.offset_of(at),
                "the attribute list ends with a name without its value",
            ));
        }
        let mut out = Vec::with_capacity(components.len() / 2);
        let mut pairs = components.into_iter();
        while let (Some((name, _)), Some((value, at))) = (pairs.next(), pairs.next()) {
            out.push((name, value, self.offset_of(at)));
        }
        Ok(out)
    }
}

/// The largest component record's content.
const RECORD_MAX: usize = 248;
/// The largest AL entry's data after its flags byte (one-byte entry length).
const ENTRY_AREA_MAX: usize = 250;

/// The AL entries (AAIP 2.0, version 1) recording `xattrs`: each name with its namespace in
/// the short notation (`user.` 0x03, `system.` 0x02, `trusted.` 0x05, `security.` 0x06, 0x01
/// before a name that starts with a byte below 0x20), then its value; components over 248
/// bytes continue in the next record; whole records packed into entries of at most 255
/// bytes, each but the last flagged to continue. ACLs are recorded as the
/// `system.posix_acl_*` attributes they are (as xorriso's `-xattr any` records them too).
pub fn encode(xattrs: &[Xattr]) -> Vec<Vec<u8>> {
    let mut records: Vec<Vec<u8>> = Vec::new();
    for x in xattrs {
        let name = short_name(&x.name);
        for component in [&name[..], &x.value[..]] {
            let pieces: Vec<&[u8]> = if component.is_empty() {
                vec![&[][..]]
            } else {
                component.chunks(RECORD_MAX).collect()
            };
            let last = pieces.len() - 1;
            for (i, piece) in pieces.into_iter().enumerate() {
                let mut r = vec![u8::from(i < last), piece.len() as u8];
                r.extend_from_slice(piece);
                records.push(r);
            }
        }
    }
    let mut areas: Vec<Vec<u8>> = Vec::new();
    for r in records {
        match areas.last_mut() {
            Some(a) if a.len() + r.len() <= ENTRY_AREA_MAX => a.extend_from_slice(&r),
            _ => areas.push(r),
        }
    }
    let last = areas.len().saturating_sub(1);
    areas
        .into_iter()
        .enumerate()
        .map(|(i, area)| {
            let mut data = vec![u8::from(i < last)];
            data.extend_from_slice(&area);
            super::susp::fixed(*b"AL", &data)
        })
        .collect()
}

/// A name in AAIP's short notation (see [`encode`]).
fn short_name(name: &[u8]) -> Vec<u8> {
    let spaces: [(&[u8], u8); 4] = [
        (b"user.", 0x03),
        (b"system.", 0x02),
        (b"trusted.", 0x05),
        (b"security.", 0x06),
    ];
    for (prefix, code) in spaces {
        if let Some(rest) = name.strip_prefix(prefix) {
            return [&[code][..], rest].concat();
        }
    }
    match name.first() {
        Some(&b) if b < 0x20 => [&[0x01][..], name].concat(),
        _ => name.to_vec(),
    }
}

/// The name with its namespace spelt out; `None` for `isofs.` and reserved namespaces.
fn full_name(name: &[u8]) -> Option<Vec<u8>> {
    let prefix: &[u8] = match *name.first()? {
        0x01 => b"",
        0x02 => b"system.",
        0x03 => b"user.",
        0x05 => b"trusted.",
        0x06 => b"security.",
        ISOFS | 0x07..=0x1f => return None,
        _ => return (!name.starts_with(b"isofs.")).then(|| name.to_vec()),
    };
    Some([prefix, &name[1..]].concat())
}

/// One ACL entry in Linux terms.
struct AclEntry {
    tag: u16,
    perm: u16,
    id: u32,
}

/// Decodes a compact ACL (the value of the empty name, at `at`) into the access and default
/// ACL attributes.
fn decode_acl(image: &str, at: u64, mut value: &[u8]) -> Result<Vec<Xattr>> {
    let mut lists: [Vec<AclEntry>; 2] = [Vec::new(), Vec::new()];
    let mut default = false;
    while let Some((&flags, rest)) = value.split_first() {
        value = rest;
        let mut qualifier = Vec::new();
        if flags & 0x08 != 0 {
            loop {
                let Some((&head, rest)) = value.split_first() else {
                    return Err(corrupt(image, at, "ACL qualifier record cut short"));
                };
                let len = usize::from(head & 0x7f);
                let bytes = rest.get(..len).ok_or_else(|| {
                    corrupt(
                        image,
                        at,
                        format!("ACL qualifier of {len} bytes passes the value"),
                    )
                })?;
                qualifier.extend_from_slice(bytes);
                value = &rest[len..];
                if head & 0x80 == 0 {
                    break;
                }
            }
        }
        let tag = match flags >> 4 {
            1 => ACL_USER_OBJ,
            3 => ACL_GROUP_OBJ,
            5 => ACL_MASK,
            6 => ACL_OTHER,
            10 => ACL_USER,
            12 => ACL_GROUP,
            8 => {
                default = true;
                continue;
            }
            // TRANSLATE (0), FUTURE_VERSION (15) and reserved types.
            _ => continue,
        };
        let id = match tag {
            ACL_USER | ACL_GROUP => {
                if qualifier.is_empty() || qualifier.len() > 4 {
                    return Err(corrupt(
                        image,
                        at,
                        format!(
                            "ACL user or group entry with a {}-byte id (1 to 4 expected)",
                            qualifier.len()
                        ),
                    ));
                }
                qualifier.iter().fold(0, |n, &b| (n << 8) | u32::from(b))
            }
            _ => ACL_UNDEFINED_ID,
        };
        lists[usize::from(default)].push(AclEntry {
            tag,
            perm: u16::from(flags & 0x07),
            id,
        });
    }
    let mut out = Vec::new();
    for (list, name) in lists.iter_mut().zip(["access", "default"]) {
        let minimal = list
            .iter()
            .all(|e| matches!(e.tag, ACL_USER_OBJ | ACL_GROUP_OBJ | ACL_OTHER));
        if list.is_empty() || (name == "access" && minimal) {
            continue;
        }
        list.sort_by_key(|e| (e.tag, e.id));
        let mut value = POSIX_ACL_XATTR_VERSION.to_le_bytes().to_vec();
        for e in list.iter() {
            value.extend_from_slice(&e.tag.to_le_bytes());
            value.extend_from_slice(&e.perm.to_le_bytes());
            value.extend_from_slice(&e.id.to_le_bytes());
        }
        out.push(Xattr {
            name: format!("system.posix_acl_{name}").into_bytes(),
            value,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_lists_round_trip() {
        let xattrs = vec![
            Xattr {
                name: b"user.mime".to_vec(),
                value: b"text/plain".to_vec(),
            },
            Xattr {
                name: b"security.selinux".to_vec(),
                value: vec![0xab; 700],
            },
            Xattr {
                name: b"trusted.empty".to_vec(),
                value: Vec::new(),
            },
            Xattr {
                name: b"system.posix_acl_access".to_vec(),
                value: vec![2, 0, 0, 0, 1, 0, 6, 0],
            },
        ];
        let entries = encode(&xattrs);
        assert!(entries.len() > 2);
        let mut list = AttributeList::default();
        for bytes in &entries {
            assert!(bytes.len() <= 255);
            let e = Entry::decode("t", bytes, 0, 0).unwrap().unwrap();
            list.add("t", &e).unwrap();
        }
        assert_eq!(list.finish("t").unwrap(), xattrs);
        assert!(encode(&[]).is_empty());
    }
}
