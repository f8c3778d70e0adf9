//! The `control` file of a binary package (deb-control(5)): `Field: value` lines, a value
//! going on over lines that start with a space or a tab (the long description).

/// Fields read at most.
const MAX_FIELDS: usize = 256;

/// The fields of `text` in order, each with the first line of its value (for `Description`,
/// the synopsis).
pub fn fields(text: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(text);
    text.lines()
        .filter(|l| !l.starts_with([' ', '\t']) && !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .take(MAX_FIELDS)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn continuation_lines_are_not_fields() {
        let f = super::fields(
            b"Package: hello\nDescription: greets\n long text: here\n .\nVersion: 1\n",
        );
        let keys: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["Package", "Description", "Version"]);
        assert_eq!(f[1].1, "greets");
    }
}
