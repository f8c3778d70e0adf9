//! Paths inside the session: joining with the current directory and splitting into components.
//! Paths are byte strings, as the images store names.

/// Joins `path` with `cwd` when it is relative. The result is absolute but not normalised
/// (`..` and symlinks are resolved by [`super::Vfs::resolve`], physically).
pub fn absolute(cwd: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else if cwd.ends_with('/') {
        format!("{cwd}{path}")
    } else {
        format!("{cwd}/{path}")
    }
}

/// The non-empty components of a path, `.` and `..` included.
pub fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

/// Lexically normalised absolute form of `path` (no `.`, `..`, or doubled slashes). Used for
/// mountpoints, which name places in the session rather than in an image.
pub fn normalize(path: &str) -> String {
    let mut out: Vec<&[u8]> = Vec::new();
    for c in components(path.as_bytes()) {
        match c {
            b"." => {}
            b".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    join(&out)
}

/// `/a/b/c` from components.
pub fn join(parts: &[&[u8]]) -> String {
    let mut s = Vec::new();
    for p in parts {
        s.push(b'/');
        s.extend_from_slice(p);
    }
    if s.is_empty() {
        s.push(b'/');
    }
    String::from_utf8_lossy(&s).into_owned()
}

/// `dir/name`, with one slash.
pub fn child(dir: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    let mut s = String::with_capacity(dir.len() + 1 + name.len());
    s.push_str(dir);
    if !dir.ends_with('/') {
        s.push('/');
    }
    s.push_str(&name);
    s
}

/// `path` seen from `dir`, both normalised absolute paths: `/` followed by the rest (`/` for
/// `dir` itself); `None` when `path` is not `dir` or below it.
pub fn relative_to<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(dir.trim_end_matches('/'))?;
    match rest {
        "" => Some("/"),
        _ if rest.starts_with('/') => Some(rest),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_dots_and_slashes() {
        assert_eq!(normalize("//a/./b/../c/"), "/a/c");
        assert_eq!(normalize("/.."), "/");
        assert_eq!(absolute("/x", "y"), "/x/y");
        assert_eq!(absolute("/", "y"), "/y");
        assert_eq!(absolute("/x", "/y"), "/y");
    }

    #[test]
    fn paths_relative_to_a_directory() {
        assert_eq!(
            relative_to("/sqsh/LiveOS/a.img", "/sqsh"),
            Some("/LiveOS/a.img")
        );
        assert_eq!(relative_to("/sqsh", "/sqsh"), Some("/"));
        assert_eq!(relative_to("/a.img", "/"), Some("/a.img"));
        assert_eq!(relative_to("/", "/"), Some("/"));
        assert_eq!(relative_to("/sqshfs/a", "/sqsh"), None);
    }
}
