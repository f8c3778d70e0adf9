//! Mounting on the session: a device (a drive or a partition of one), or an image held in a file
//! of a mount (`mount-loop`: decoded where it is compressed; a partitioned disk image made the
//! next drive); unmounting, refused while other mounts depend on the mount or it holds staged
//! changes; and what a commit asks of the mount table: a mount by id, the chain of origins from a
//! mount down to a drive, the mounts read from a mount's files. The shell's commands and the
//! browser pane both mount and unmount through these methods.

use std::path::Path;
use std::sync::Arc;

use super::{file_data, Session};
use crate::error::{Error, Result};
use crate::fs::probe::{self, Content};
use crate::fs::{self, MountOptions};
use crate::source::Source;
use crate::vfs::{path, FileRef, Mount, MountId, Mounted, Node, Origin, Target};

impl Session {
    /// Mounts the filesystem on `device` at `mountpoint` (a session path; it need not exist).
    pub fn mount(
        &mut self,
        device: &str,
        mountpoint: &str,
        options: MountOptions,
    ) -> Result<MountId> {
        let (drive, partition) = self.find_device(device)?;
        let origin = match partition {
            None => Origin::Drive { drive },
            Some(p) => Origin::Partition {
                drive,
                number: p.number,
            },
        };
        let source = self.device_source(device)?;
        self.open_and_mount(source, device, origin, mountpoint, None, options)
    }

    /// Mounts the image held in the regular file at session path `path` (in any mount, nested
    /// or not) at `mountpoint`, of type `fstype` or as the probe finds it; `mounts` shows the
    /// file's absolute path as its device. A compressed image is decoded (and its origin says
    /// so). A partitioned disk image, when no type is forced, becomes the next drive, and each
    /// of its partitions holding a readable filesystem is mounted at `MOUNTPOINT/N`, N being
    /// the partition's number. Returns the mounts made.
    pub fn mount_loop(
        &mut self,
        path: &str,
        mountpoint: &str,
        fstype: Option<&str>,
        options: MountOptions,
    ) -> Result<Vec<MountId>> {
        let device = self.absolute(path);
        let node = self.resolve(path)?;
        let source = file_data(&node, path)?;
        let file = self.file_ref(&node)?;
        let origin = match probe::identify(source.as_ref())? {
            Content::PartitionTable(_) if fstype.is_none() => {
                let drive = self.push_drive(source, Path::new(&device), Some(file));
                return self.mount_partitions(&drive, mountpoint, options);
            }
            Content::Compressed(codec) => Origin::Decoded { file, codec },
            _ => Origin::File(file),
        };
        let id = self.open_and_mount(source, &device, origin, mountpoint, fstype, options)?;
        Ok(vec![id])
    }

    /// Mounts each partition of `drive` holding a readable filesystem at `MOUNTPOINT/N`;
    /// refuses when none does.
    fn mount_partitions(
        &mut self,
        drive: &str,
        mountpoint: &str,
        options: MountOptions,
    ) -> Result<Vec<MountId>> {
        let base = self.absolute(mountpoint);
        let numbers: Vec<usize> = self
            .drives
            .iter()
            .filter(|d| d.device == drive)
            .flat_map(|d| d.partitions.iter().map(|p| p.number))
            .collect();
        let mut mounted = Vec::new();
        let mut skipped = Vec::new();
        for number in numbers {
            let device = format!("{drive}{number}");
            let at = format!("{}/{number}", base.trim_end_matches('/'));
            match self.mount(&device, &at, options.clone()) {
                Ok(id) => mounted.push(id),
                Err(e) => skipped.push(format!("{device}: {e}")),
            }
        }
        if mounted.is_empty() {
            return Err(Error::Usage(format!(
                "a partitioned disk ({drive}) with no readable partition{}{}",
                if skipped.is_empty() { "" } else { ": " },
                skipped.join("; ")
            )));
        }
        Ok(mounted)
    }

    /// Opens the filesystem held in `source`, of type `fstype` or as the probe finds it, and
    /// mounts it at `mountpoint`; `device` is what `mounts` shows.
    fn open_and_mount(
        &mut self,
        source: Arc<dyn Source>,
        device: &str,
        origin: Origin,
        mountpoint: &str,
        fstype: Option<&str>,
        options: MountOptions,
    ) -> Result<MountId> {
        let fs = match fstype {
            Some(t) => fs::open_as(source, t, &options)?,
            None => fs::open(source, &options)?,
        };
        let mount = Mount {
            mountpoint: path::normalize(&self.absolute(mountpoint)),
            device: device.to_string(),
            fs,
            options,
        };
        crate::verbose::say(|| {
            format!(
                "mounted {device} on {} ({})",
                mount.mountpoint,
                mount.fs.type_name()
            )
        });
        Ok(self.vfs.mount_from(mount, origin))
    }

    /// The regular file `node` as its mount's filesystem knows it.
    pub(super) fn file_ref(&self, node: &Node) -> Result<FileRef> {
        let Target::Fs { ino, .. } = &node.target else {
            return Err(Error::IsADirectory(node.path.clone()));
        };
        let owner = self
            .vfs
            .owner(node)
            .ok_or_else(|| Error::Usage(format!("{}: in no mount", node.path)))?;
        // The owner is found among the mounts `node.path` lies within.
        let path = path::relative_to(&node.path, &owner.mount.mountpoint).unwrap_or("/");
        Ok(FileRef {
            mount: owner.id,
            path: path.to_string(),
            ino: *ino,
        })
    }

    /// Unmounts the topmost mount at `mountpoint` (see [`Session::unmount`]).
    pub fn umount(&mut self, mountpoint: &str) -> Result<()> {
        let mp = path::normalize(&self.absolute(mountpoint));
        let id = self
            .vfs
            .topmost(&mp)
            .map(|m| m.id)
            .ok_or_else(|| Error::Usage(format!("{mp}: not mounted")))?;
        self.unmount(id)
    }

    /// Unmounts mount `id`. Refused ([`Error::Busy`]) while another mount is read from a file
    /// of it (directly, or through a drive made of a disk image in it), while another is
    /// mounted below its mountpoint, and while it holds staged changes.
    pub fn unmount(&mut self, id: MountId) -> Result<()> {
        let mountpoint = self
            .vfs
            .get(id)
            .map(|m| m.mount.mountpoint.clone())
            .ok_or_else(|| Error::Usage(format!("{id}: not mounted")))?;
        if let Some(child) = self.children(id).first() {
            let from = match child.origin.drive().and_then(|d| self.drives.get(d)) {
                Some(drive) => format!(", on the disk image {}", drive.path.display()),
                None => String::new(),
            };
            return Err(Error::Busy {
                path: mountpoint,
                reason: format!(
                    "{} is mounted from {}{from}",
                    child.mount.mountpoint, child.mount.device
                ),
            });
        }
        self.vfs.umount(id).map(drop)
    }

    /// Unmounts everything, refusing (and unmounting nothing) while a mount holds staged
    /// changes.
    pub fn umount_all(&mut self) -> Result<()> {
        self.vfs.umount_all()
    }

    /// The topmost mount of `device` (a drive, a partition, or the session path of an image
    /// file `mount-loop` mounted), if it is mounted.
    pub fn mount_of_device(&self, device: &str) -> Option<Mounted<'_>> {
        let wanted = super::canonical_device(&path::normalize(&self.absolute(device)));
        self.vfs
            .entries()
            .rev()
            .find(|m| super::canonical_device(&path::normalize(&m.mount.device)) == wanted)
    }

    /// The mount numbered `id`, with its origin, if it is still mounted.
    pub fn mount_by_id(&self, id: MountId) -> Option<Mounted<'_>> {
        self.vfs.get(id)
    }

    /// The file of a mount that a mount with `origin` is read from: the file itself, or the
    /// disk image its drive was made of.
    pub fn origin_file<'a>(&'a self, origin: &'a Origin) -> Option<&'a FileRef> {
        origin.file().or_else(|| {
            let drive = self.drives.get(origin.drive()?)?;
            drive.image.as_ref()
        })
    }

    /// Mount `id` and the mounts it is read from, innermost first, down to one read from a
    /// drive of the host: the order a commit rebuilds changed images in, each one's new bytes
    /// replacing its file in the next.
    pub fn origin_chain(&self, id: MountId) -> Vec<Mounted<'_>> {
        let mut chain = Vec::new();
        let mut next = self.vfs.get(id);
        while let Some(m) = next {
            // A mount is always read from an older one: ids only fall along the chain.
            next = self
                .origin_file(m.origin)
                .filter(|f| f.mount < m.id)
                .and_then(|f| self.vfs.get(f.mount));
            chain.push(m);
        }
        chain
    }

    /// The mounts read from a file of mount `id` (directly, or through a drive made of a disk
    /// image in it), in the order they were made.
    pub fn children(&self, id: MountId) -> Vec<Mounted<'_>> {
        self.vfs
            .entries()
            .filter(|m| self.origin_file(m.origin).is_some_and(|f| f.mount == id))
            .collect()
    }

    /// Counts one staged change in mount `id` (every edit command calls this), which keeps
    /// the mount from being unmounted and moves the session's generation. Refused when the
    /// session is read-only.
    pub fn note_change(&mut self, id: MountId) -> Result<u64> {
        let target = self
            .vfs
            .get(id)
            .map_or_else(|| id.to_string(), |m| m.mount.mountpoint.clone());
        self.refuse_readonly(&target)?;
        self.vfs.note_change(id)
    }

    /// A number that moves with every mount, unmount and staged change: a view of the tree
    /// (the browser pane's listings) read at one generation is still true while it stands.
    pub fn generation(&self) -> u64 {
        self.vfs.generation()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn fixture(name: &str) -> PathBuf {
        [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
            .iter()
            .collect()
    }

    /// nested.iso on `at`, as a session that may stage changes.
    fn nested_at(at: &str) -> (Session, MountId) {
        let mut s = Session::new(false);
        s.add_drive(&fixture("nested.iso")).unwrap();
        let id = s.mount("/dev/sda", at, MountOptions::default()).unwrap();
        (s, id)
    }

    /// Mounts the Fedora chain of nested.iso (ISO at `/iso`, its squashfs at `/sqsh`, the
    /// ext4 root in that at `/sysroot`); returns the three ids, outermost first.
    fn fedora() -> (Session, [MountId; 3]) {
        let (mut s, iso) = nested_at("/iso");
        let sqsh = s.mount_loop(
            "/iso/LiveOS/squashfs.img",
            "/sqsh",
            None,
            MountOptions::default(),
        );
        let sqsh = sqsh.unwrap()[0];
        let root = s.mount_loop(
            "/sqsh/LiveOS/rootfs.img",
            "/sysroot",
            None,
            MountOptions::default(),
        );
        (s, [iso, sqsh, root.unwrap()[0]])
    }

    fn ino_of(s: &Session, path: &str) -> u64 {
        match s.resolve(path).unwrap().target {
            Target::Fs { ino, .. } => ino,
            Target::Virtual => panic!("{path} is virtual"),
        }
    }

    #[test]
    fn ids_follow_the_order_of_mounting_and_are_never_given_again() {
        let (mut s, iso) = nested_at("/");
        let first = s.mount_loop("/root.sqfs", "/r", None, MountOptions::default());
        let first = first.unwrap();
        assert_eq!(first.len(), 1);
        assert!(first[0] > iso);
        s.umount("/r").unwrap();
        assert!(s.mount_by_id(first[0]).is_none());
        let again = s.mount_loop("/root.sqfs", "/r", None, MountOptions::default());
        let again = again.unwrap()[0];
        assert!(again > first[0], "{again} reuses {}", first[0]);
        assert_eq!(s.mount_by_id(again).unwrap().mount.mountpoint, "/r");
        assert_eq!(s.vfs.topmost("/r").unwrap().id, again);
    }

    #[test]
    fn a_mount_knows_the_drive_the_partition_or_the_file_it_is_read_from() {
        let (s, [iso, sqsh, root]) = fedora();
        assert_eq!(
            *s.mount_by_id(iso).unwrap().origin,
            Origin::Drive { drive: 0 }
        );
        let file = |mount, path: &str, ino| {
            Origin::File(FileRef {
                mount,
                path: path.to_string(),
                ino,
            })
        };
        let sqsh_ino = ino_of(&s, "/iso/LiveOS/squashfs.img");
        let root_ino = ino_of(&s, "/sqsh/LiveOS/rootfs.img");
        assert_eq!(
            *s.mount_by_id(sqsh).unwrap().origin,
            file(iso, "/LiveOS/squashfs.img", sqsh_ino),
            "the path is the file's in the ISO, not the session's"
        );
        assert_eq!(
            *s.mount_by_id(root).unwrap().origin,
            file(sqsh, "/LiveOS/rootfs.img", root_ino)
        );
        // What `mounts` shows is left as it was.
        let devices: Vec<&str> = s.vfs.mounts().iter().map(|m| m.device.as_str()).collect();
        assert_eq!(
            devices,
            [
                "/dev/sda",
                "/iso/LiveOS/squashfs.img",
                "/sqsh/LiveOS/rootfs.img"
            ]
        );

        let mut s = Session::new(true);
        s.add_drive(&fixture("boot-appended.iso")).unwrap();
        let esp = s
            .mount("/dev/sda2", "/esp", MountOptions::default())
            .unwrap();
        assert_eq!(
            *s.mount_by_id(esp).unwrap().origin,
            Origin::Partition {
                drive: 0,
                number: 2
            }
        );
        assert_eq!(s.origin_chain(esp).len(), 1);
    }

    #[test]
    fn the_origin_chain_runs_from_a_mount_down_to_its_drive() {
        let (s, [iso, sqsh, root]) = fedora();
        let chain: Vec<MountId> = s.origin_chain(root).iter().map(|m| m.id).collect();
        assert_eq!(chain, [root, sqsh, iso]);
        let chain: Vec<MountId> = s.origin_chain(iso).iter().map(|m| m.id).collect();
        assert_eq!(chain, [iso]);
        let ids = |v: Vec<Mounted>| v.iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(ids(s.children(iso)), [sqsh]);
        assert_eq!(ids(s.children(sqsh)), [root]);
        assert!(s.children(root).is_empty());
    }

    #[test]
    fn umount_refuses_a_mount_another_is_read_from_naming_it() {
        let (mut s, [_, _, root]) = fedora();
        let before = s.generation();
        let err = s.umount("/sqsh").unwrap_err();
        assert!(matches!(err, Error::Busy { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "/sqsh: busy: /sysroot is mounted from /sqsh/LiveOS/rootfs.img"
        );
        assert!(matches!(s.umount("/iso"), Err(Error::Busy { .. })));
        assert_eq!(s.generation(), before, "a refusal changes nothing");
        s.unmount(root).unwrap();
        s.umount("/sqsh").unwrap();
        s.umount("/iso").unwrap();
        assert!(s.vfs.mounts().is_empty());
        assert!(s.generation() > before);
    }

    #[test]
    fn umount_refuses_a_mount_with_a_mount_below_it() {
        let (mut s, _) = nested_at("/");
        s.mount("/dev/sda", "/cd", MountOptions::default()).unwrap();
        let err = s.umount("/").unwrap_err();
        assert!(matches!(err, Error::Busy { .. }), "{err:?}");
        assert_eq!(err.to_string(), "/: busy: /cd is mounted below it");
        let err = s.umount("/nowhere").unwrap_err();
        assert_eq!(err.to_string(), "/nowhere: not mounted");
    }

    #[test]
    fn staged_changes_keep_a_mount_mounted() {
        let (mut s, [_, _, root]) = fedora();
        assert!(!s.mount_by_id(root).unwrap().has_staged_changes());
        let before = s.generation();
        assert_eq!(s.note_change(root).unwrap(), 1);
        assert_eq!(s.note_change(root).unwrap(), 2);
        assert_eq!(
            s.generation(),
            before + 2,
            "each change moves the generation"
        );
        assert!(s.mount_by_id(root).unwrap().has_staged_changes());
        let err = s.umount("/sysroot").unwrap_err();
        assert!(matches!(err, Error::Busy { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "/sysroot: busy: 2 staged changes not committed"
        );
        let err = s.umount_all().unwrap_err();
        assert!(matches!(err, Error::Busy { .. }), "{err:?}");
        assert_eq!(s.vfs.mounts().len(), 3, "umount-all removed nothing");
    }

    #[test]
    fn a_read_only_session_stages_nothing() {
        let mut s = Session::new(true);
        s.add_drive(&fixture("nested.iso")).unwrap();
        let id = s.mount("/dev/sda", "/", MountOptions::default()).unwrap();
        let err = s.note_change(id).unwrap_err();
        assert!(matches!(err, Error::ReadOnly { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "/: read-only: the session was opened with --ro"
        );
        assert!(!s.mount_by_id(id).unwrap().has_staged_changes());
        s.umount("/").unwrap();
    }

    #[test]
    fn every_mount_and_unmount_moves_the_generation() {
        let mut s = Session::new(true);
        s.add_drive(&fixture("nested.iso")).unwrap();
        let g0 = s.generation();
        s.mount("/dev/sda", "/", MountOptions::default()).unwrap();
        let g1 = s.generation();
        assert!(g1 > g0);
        s.set_cwd("/LiveOS").unwrap();
        s.resolve("squashfs.img").unwrap();
        assert_eq!(s.generation(), g1, "reading does not move it");
        s.mount_loop("squashfs.img", "/sqsh", None, MountOptions::default())
            .unwrap();
        let g2 = s.generation();
        assert!(g2 > g1);
        s.umount("/sqsh").unwrap();
        assert!(s.generation() > g2);
    }
}
