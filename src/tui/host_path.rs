//! Completion of host paths typed in the pane's prompts (`u`, `x`, `w`): Tab extends the
//! text to what every matching name shares, and lists the names when several match.

use std::path::Path;

/// What Tab makes of `text`: the completed text (a directory's name ends in `/`), and the
/// names that still match when more than one does (for the pane's note). The text is taken
/// as it is typed: no quoting, no `~`.
pub fn complete(text: &str) -> (String, Vec<String>) {
    let (dir, prefix) = match text.rfind('/') {
        Some(i) => (&text[..=i], &text[i + 1..]),
        None => ("", text),
    };
    let listed = std::fs::read_dir(if dir.is_empty() { "." } else { dir });
    let mut names: Vec<String> = listed
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let is_dir = Path::new(dir).join(&name).is_dir();
            name.starts_with(prefix)
                .then(|| if is_dir { name + "/" } else { name })
        })
        .collect();
    names.sort();
    let Some(first) = names.first() else {
        return (text.to_string(), Vec::new());
    };
    let mut shared = first.clone();
    for name in &names[1..] {
        let n = shared
            .chars()
            .zip(name.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a.len_utf8())
            .sum();
        shared.truncate(n);
    }
    let completed = format!("{dir}{shared}");
    if names.len() == 1 {
        names.clear();
    }
    (completed, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_extends_to_the_shared_prefix_and_lists_the_names() {
        let d = tempfile::tempdir().unwrap();
        for name in ["alpha.iso", "alpine.img", "beta"] {
            std::fs::write(d.path().join(name), "").unwrap();
        }
        let base = format!("{}/", d.path().display());
        let (text, names) = complete(&format!("{base}al"));
        assert_eq!(text, format!("{base}alp"));
        assert_eq!(names, ["alpha.iso", "alpine.img"]);
        let (text, names) = complete(&format!("{base}b"));
        assert_eq!(text, format!("{base}beta"));
        assert!(names.is_empty());
        let (text, names) = complete(&format!("{base}zz"));
        assert_eq!(text, format!("{base}zz"));
        assert!(names.is_empty());
    }
}
