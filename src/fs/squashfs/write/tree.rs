//! The tree to write, walked once: every object once (hard links, the same inode under several
//! names, counted), each directory's entries sorted by name bytes as squashfs requires, and
//! the order inodes are numbered and written in: a directory after everything under it, the
//! root last (as `mksquashfs` does), so a listing is written once its entries' inodes are
//! placed and a directory inode once its listing is.

use std::collections::HashMap;

use super::directory::MAX_NAME;
use crate::error::{Error, Result};
use crate::fs::{FileSystem, Ino, Metadata};

/// One object of the tree.
pub struct Node {
    pub ino: Ino,
    pub meta: Metadata,
    /// A directory's entries, sorted: names and node indices.
    pub children: Vec<(Vec<u8>, usize)>,
    /// How many entries name it.
    pub links: u32,
    /// A directory's parent (the root's own index for the root).
    pub parent: usize,
}

/// The nodes of `tree` (the root at index 0) and the order to number and write them in.
pub fn collect(tree: &dyn FileSystem, image: &str) -> Result<(Vec<Node>, Vec<usize>)> {
    let root = tree.root();
    let mut nodes = vec![Node {
        ino: root,
        meta: tree.metadata(root)?,
        children: Vec::new(),
        links: 1,
        parent: 0,
    }];
    let mut by_ino: HashMap<Ino, usize> = HashMap::from([(root, 0)]);
    let mut stack = vec![0];
    while let Some(d) = stack.pop() {
        crate::cancel::check()?;
        let mut entries = tree.read_dir(nodes[d].ino)?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let mut children = Vec::with_capacity(entries.len());
        for e in entries {
            if e.name.is_empty() || e.name.len() > MAX_NAME || e.name.contains(&b'/') {
                return Err(Error::unsupported(
                    image,
                    format!(
                        "the name {:?}: squashfs names are 1 to {MAX_NAME} bytes without '/'",
                        String::from_utf8_lossy(&e.name)
                    ),
                ));
            }
            if children.last().is_some_and(|(n, _)| *n == e.name) {
                return Err(Error::corrupt(
                    image,
                    "directory listing",
                    0,
                    format!("{:?} is listed twice", String::from_utf8_lossy(&e.name)),
                ));
            }
            let i = match by_ino.get(&e.ino) {
                Some(&i) if !e.meta.is_dir() && !nodes[i].meta.is_dir() => {
                    nodes[i].links += 1;
                    i
                }
                Some(_) => {
                    return Err(Error::corrupt(
                        image,
                        "directory listing",
                        0,
                        format!(
                            "the directory {:?} is listed twice",
                            String::from_utf8_lossy(&e.name)
                        ),
                    ))
                }
                None => {
                    let i = nodes.len();
                    if e.meta.is_dir() {
                        stack.push(i);
                    }
                    by_ino.insert(e.ino, i);
                    nodes.push(Node {
                        ino: e.ino,
                        meta: e.meta,
                        children: Vec::new(),
                        links: 1,
                        parent: d,
                    });
                    i
                }
            };
            children.push((e.name, i));
        }
        nodes[d].children = children;
    }
    let order = post_order(&nodes);
    Ok((nodes, order))
}

/// Every node once, each directory after what it holds, the root last.
fn post_order(nodes: &[Node]) -> Vec<usize> {
    let mut order = Vec::with_capacity(nodes.len());
    let mut placed = vec![false; nodes.len()];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((d, next)) = stack.last_mut() {
        let dir = &nodes[*d];
        match dir.children.get(*next) {
            Some(&(_, c)) => {
                *next += 1;
                if nodes[c].meta.is_dir() {
                    stack.push((c, 0));
                } else if !placed[c] {
                    placed[c] = true;
                    order.push(c);
                }
            }
            None => {
                order.push(*d);
                stack.pop();
            }
        }
    }
    order
}
