//! `edit` (aliases `vi`, `emacs`): a file of the session edited with the user's editor
//! (`$VISUAL`, else `$EDITOR`, else `vi`) on a temporary host copy, and staged when it changed.

use std::io::Write;

use anyhow::{bail, Context};

use super::{arg, ArgKind, Command, Ctx};
use crate::overlay::Content;

pub const COMMANDS: &[Command] = &[Command {
    name: "edit",
    aliases: &["vi", "emacs"],
    args: &[arg("PATH", ArgKind::Path)],
    options: &[],
    run: edit,
}];

/// The editor command: `$VISUAL`, else `$EDITOR`, else `vi` (empty values count as unset).
fn editor() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".into())
}

/// All of `content`, in memory.
fn read_all(content: &Content) -> crate::error::Result<Vec<u8>> {
    let mut data = vec![0; usize::try_from(content.len()).unwrap_or(usize::MAX)];
    let mut at = 0;
    while at < data.len() {
        match content.read_at(at as u64, &mut data[at..])? {
            0 => break,
            n => at += n,
        }
    }
    data.truncate(at);
    Ok(data)
}

fn edit(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let st = ctx.session.stage_existing(&args[0], true)?;
    let before = read_all(&st.overlay.content(&st.path)?)?;
    // The file's name ends the temporary one's, so editors pick their mode by it.
    let name: String = st
        .path
        .rsplit('/')
        .next()
        .unwrap_or("file")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
        .collect();
    let mut tmp = tempfile::Builder::new()
        .prefix("isofish-")
        .suffix(&format!("-{name}"))
        .tempfile()
        .context("a temporary file to edit in")?;
    tmp.write_all(&before)
        .and_then(|()| tmp.flush())
        .context("a temporary file to edit in")?;
    let editor = editor();
    ctx.out.flush()?;
    // Through the shell, so that EDITOR may hold arguments (`emacs -nw`, `sed -i s/a/b/`).
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(tmp.path())
        .status()
        .with_context(|| format!("{}: could not run the editor ({editor})", st.shown))?;
    if !status.success() {
        bail!(
            "{}: the editor ({editor}) failed ({status}): nothing staged",
            st.shown
        );
    }
    // Editors may write a new file over the name: read it by name.
    let after = std::fs::read(tmp.path())
        .with_context(|| format!("{}: the edited copy {}", st.shown, tmp.path().display()))?;
    if after == before {
        return Ok(());
    }
    st.overlay.set_content(&st.path, Content::bytes(after))?;
    ctx.session.staged(&st)?;
    Ok(())
}
