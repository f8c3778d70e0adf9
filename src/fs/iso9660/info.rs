//! What `info` says about an [`IsoFs`]: the primary volume descriptor's fields as `isoinfo -d`
//! shows them, Joliet, ISO 9660:1999 and boot records, Rock Ridge and its SUSP extensions,
//! whether zisofs is used near the root, and which names are shown.

use super::data::Data;
use super::volume::{Body, Kind};
use super::IsoFs;
use crate::fs::FileSystem;

impl IsoFs {
    /// The volume's details for `info`: the primary descriptor's fields, the other
    /// descriptors, Rock Ridge and its extensions, zisofs, the names shown.
    pub(super) fn details(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut put = |k: &str, v: String| out.push((k.to_string(), v));
        if let Some(p) = super::volume::primary_volume(&self.descriptors) {
            put("System id", p.system_id.get(false));
            put("Volume id", p.volume_id.get(false));
            put("Volume set id", p.volume_set_id.get(false));
            put("Publisher id", p.publisher_id.get(false));
            put("Data preparer id", p.preparer_id.get(false));
            put("Application id", p.application_id.get(false));
            put("Copyright File id", p.copyright_file_id.get(false));
            put("Abstract File id", p.abstract_file_id.get(false));
            put("Bibliographic File id", p.bibliographic_file_id.get(false));
            put("Volume set size", p.volume_set_size.to_string());
            put(
                "Volume set sequence number",
                p.volume_sequence_number.to_string(),
            );
            put("Logical block size", p.logical_block_size.to_string());
            put("Volume size", p.volume_space_size.to_string());
            put("Creation date", p.created.to_string());
            put("Modification date", p.modified.to_string());
            put("Expiration date", p.expires.to_string());
            put("Effective date", p.effective.to_string());
        }
        for d in &self.descriptors {
            match d.kind {
                Kind::Joliet(level) => put("Joliet", format!("level {level}")),
                Kind::Enhanced => put("ISO 9660:1999", "enhanced volume descriptor".into()),
                Kind::Boot => {
                    if let Body::Boot(b) = &d.body {
                        put("Boot system id", b.boot_system_id.get(false));
                    }
                }
                _ => {}
            }
        }
        if let Some(ids) = &self.rock_ridge {
            let version = ids.iter().find_map(|id| match id.as_str() {
                "RRIP_1991A" => Some(format!("1.09/1.10 ({id})")),
                "IEEE_P1282" | "IEEE_1282" => Some(format!("1.12 ({id})")),
                _ => None,
            });
            put(
                "Rock Ridge",
                version.unwrap_or_else(|| "SUSP without a Rock Ridge ER entry".into()),
            );
            if !ids.is_empty() {
                put("SUSP extensions", ids.join(" "));
            }
        }
        put(
            "zisofs",
            if self.has_zisofs() {
                "ZF entries in the top two directory levels"
            } else {
                "no ZF entries in the top two directory levels"
            }
            .into(),
        );
        put("Names", self.view.name().into());
        out
    }

    /// Whether any file of the root directory or its subdirectories is zisofs-compressed.
    fn has_zisofs(&self) -> bool {
        let Ok(top) = self.read_dir(self.root) else {
            return false;
        };
        let below = top.iter().filter(|e| e.meta.is_dir()).take(64);
        let subdirs = below.filter_map(|d| self.read_dir(d.ino).ok());
        std::iter::once(top.clone())
            .chain(subdirs)
            .flatten()
            .any(|e| {
                self.node(e.ino)
                    .is_ok_and(|n| matches!(n.data, Data::Zisofs { .. }))
            })
    }
}
