//! Seeded mutations of FAT12, FAT16 and FAT32 images made by mkfs.fat and filled by mcopy,
//! aimed at what a FAT reader follows: directory entries (`.` and `..` renamed to ordinary
//! names, first clusters of 0, 1, another directory's, past the end; sizes; the directory
//! bit), and the FAT's values along the chains in use (0, 1, a cluster of the same chain so
//! the chain loops, a bad-cluster mark, an end mark, a cluster past the end). Each mutant is
//! opened and walked with the library's bounded walk: it reads or is refused, in bounded
//! time, never a panic. Deterministic (fixed seeds).

use crate::common::{scratch, tool};
use crate::mutants::{run_format_mutants, Rng};
use crate::nested_fat::copy_tree;
use crate::nested_util::{noise, write};
use std::path::Path;

fn le16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}
fn le32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// Where a FAT volume keeps things, from its boot sector.
struct Layout {
    bits: u8,
    /// Byte offset of the first FAT.
    fat: usize,
    /// Byte offset of cluster 2, and bytes per cluster.
    data: usize,
    cluster: usize,
    /// The highest cluster number the volume has.
    max: usize,
    /// Every directory entry in use (`.` and `..` included): its byte offset.
    entries: Vec<usize>,
    /// Every cluster of every chain in use.
    chained: Vec<usize>,
}

impl Layout {
    fn read(img: &[u8], bits: u8) -> Layout {
        let bps = le16(img, 11);
        let spc = usize::from(img[13]);
        let reserved = le16(img, 14);
        let fats = usize::from(img[16]);
        let root_entries = le16(img, 17);
        let total = match le16(img, 19) {
            0 => le32(img, 32),
            n => n,
        };
        let fat_size = match le16(img, 22) {
            0 => le32(img, 36),
            n => n,
        };
        let fat = reserved * bps;
        let root = fat + fats * fat_size * bps;
        let data = root + (root_entries * 32).next_multiple_of(bps);
        let cluster = spc * bps;
        let mut layout = Layout {
            bits,
            fat,
            data,
            cluster,
            max: (total * bps - data) / cluster + 1,
            entries: Vec::new(),
            chained: Vec::new(),
        };
        let root_slots: Vec<usize> = if bits == 32 {
            layout.chain_slots(img, le32(img, 44))
        } else {
            (root..data).step_by(32).collect()
        };
        layout.directory(img, root_slots, 0);
        layout
    }

    fn get(&self, img: &[u8], cluster: usize) -> usize {
        match self.bits {
            12 => {
                let v = le16(img, self.fat + cluster + cluster / 2);
                if cluster & 1 == 0 {
                    v & 0xfff
                } else {
                    v >> 4
                }
            }
            16 => le16(img, self.fat + cluster * 2),
            _ => le32(img, self.fat + cluster * 4) & 0x0fff_ffff,
        }
    }

    fn set(&self, img: &mut [u8], cluster: usize, value: usize) {
        match self.bits {
            12 => {
                let at = self.fat + cluster + cluster / 2;
                let old = le16(img, at);
                let v = if cluster & 1 == 0 {
                    old & 0xf000 | value & 0xfff
                } else {
                    old & 0x000f | (value & 0xfff) << 4
                };
                img[at..at + 2].copy_from_slice(&(v as u16).to_le_bytes());
            }
            16 => img[self.fat + cluster * 2..][..2].copy_from_slice(&(value as u16).to_le_bytes()),
            _ => img[self.fat + cluster * 4..][..4].copy_from_slice(&(value as u32).to_le_bytes()),
        }
    }

    /// The 32-byte slots of the directory whose chain starts at `first`, recording the chain.
    fn chain_slots(&mut self, img: &[u8], first: usize) -> Vec<usize> {
        let mut slots = Vec::new();
        let mut c = first;
        while (2..=self.max).contains(&c) && !self.chained.contains(&c) {
            self.chained.push(c);
            let at = self.data + (c - 2) * self.cluster;
            slots.extend((at..at + self.cluster).step_by(32));
            c = self.get(img, c);
        }
        slots
    }

    /// Records the entries in `slots` and the chains of the files and directories they name.
    fn directory(&mut self, img: &[u8], slots: Vec<usize>, depth: usize) {
        for at in slots {
            match img[at] {
                0 => break,
                0xe5 => continue,
                _ if img[at + 11] == 0x0f => continue,
                _ => {}
            }
            self.entries.push(at);
            let high = if self.bits == 32 {
                le16(img, at + 20)
            } else {
                0
            };
            let first = high << 16 | le16(img, at + 26);
            if img[at] == b'.' {
                continue;
            }
            if img[at + 11] & 0x10 != 0 {
                if depth < 8 {
                    let inner = self.chain_slots(img, first);
                    self.directory(img, inner, depth + 1);
                }
            } else {
                let mut c = first;
                while (2..=self.max).contains(&c) && !self.chained.contains(&c) {
                    self.chained.push(c);
                    c = self.get(img, c);
                }
            }
        }
    }

    /// The end-of-chain and bad-cluster marks of this FAT width.
    fn marks(&self) -> (usize, usize) {
        match self.bits {
            12 => (0xfff, 0xff7),
            16 => (0xffff, 0xfff7),
            _ => (0x0fff_ffff, 0x0fff_fff7),
        }
    }
}

fn mutate(base: &[u8], fat: &Layout, rng: &mut Rng) -> Vec<u8> {
    let mut img = base.to_vec();
    for _ in 0..1 + rng.below(3) {
        if rng.below(2) == 0 {
            // A FAT value along a chain in use.
            let c = fat.chained[rng.below(fat.chained.len())];
            let (end, bad) = fat.marks();
            let value = match rng.below(8) {
                0 => 0,
                1 => 1,
                2 => c,
                3 => fat.chained[rng.below(fat.chained.len())],
                4 => bad,
                5 => end,
                6 => fat.max + 1 + rng.below(16),
                _ => 2 + rng.below(fat.max - 1),
            };
            fat.set(&mut img, c, value);
            continue;
        }
        let at = fat.entries[rng.below(fat.entries.len())];
        match rng.below(7) {
            0 => img[at..at + 11].copy_from_slice(b"LOOP    BIN"),
            1 => {
                // The first cluster: none, reserved, a chained one, past the end.
                let c = match rng.below(4) {
                    0 => 0,
                    1 => 1,
                    2 => fat.chained[rng.below(fat.chained.len())],
                    _ => fat.max + 1 + rng.below(1 << 16),
                };
                img[at + 26..at + 28].copy_from_slice(&(c as u16).to_le_bytes());
                if fat.bits == 32 {
                    img[at + 20..at + 22].copy_from_slice(&((c >> 16) as u16).to_le_bytes());
                }
            }
            2 => {
                let size = match rng.below(3) {
                    0 => 0,
                    1 => u32::MAX,
                    _ => rng.next() as u32 % (4 * fat.cluster as u32),
                };
                img[at + 28..at + 32].copy_from_slice(&size.to_le_bytes());
            }
            3 => img[at + 11] ^= 0x10,
            4 => img[at + 11] = rng.next() as u8,
            5 => img[at + rng.below(32)] = rng.next() as u8,
            _ => img[at] = 0xe5,
        }
    }
    img
}

/// A FAT image of `bits` bits made by mkfs.fat (`size` KiB, `extra` options) holding a small
/// tree: directories three deep, files of one cluster and of many, a crowded directory.
fn image(dir: &Path, bits: &str, size: &str, extra: &[&str]) -> Vec<u8> {
    let tree = dir.join(format!("tree{bits}"));
    let write = |path: &str, data: &[u8]| write(&tree.join(path), data);
    write("hello.txt", b"hello, FAT\n");
    write("empty", b"");
    write("dir/sub/deep/deep.txt", b"deep inside\n");
    write("dir/large.bin", &noise(60_000, 7));
    for i in 0..40 {
        write(
            &format!("many/entry with a long name {i:03}.txt"),
            format!("{i}\n").as_bytes(),
        );
    }
    let image = dir.join(format!("fat{bits}.img"));
    let img = image.to_str().unwrap();
    let mut args = extra.to_vec();
    args.extend(["-F", bits, "-C", img, size]);
    tool("mkfs.fat", &args, None);
    copy_tree(img, &tree, &[]);
    std::fs::read(&image).unwrap()
}

fn run(bits: &str, size: &str, extra: &[&str], seed: u64, count: usize) {
    let dir = scratch();
    let base = image(dir.path(), bits, size, extra);
    let fat = Layout::read(&base, bits.parse().unwrap());
    assert!(
        fat.entries.len() > 40,
        "FAT{bits}: {} entries",
        fat.entries.len()
    );
    assert!(
        fat.chained.len() > 20,
        "FAT{bits}: {} clusters",
        fat.chained.len()
    );
    run_format_mutants(&format!("FAT{bits}"), seed, count, "mutant.img", |rng| {
        mutate(&base, &fat, rng)
    });
}

#[test]
fn mutated_fat12_never_panics_or_loops() {
    run("12", "2000", &[], 0xfa7_0012, 300);
}

#[test]
fn mutated_fat16_never_panics_or_loops() {
    run("16", "20000", &[], 0xfa7_0016, 200);
}

#[test]
fn mutated_fat32_never_panics_or_loops() {
    run("32", "34000", &["-s", "1"], 0xfa7_0032, 120);
}
