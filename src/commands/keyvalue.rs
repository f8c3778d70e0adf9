//! The `key:value` option words that follow the fixed arguments of `copy-out` and `tar-out`
//! (`xdev:true`, `compress:gzip`).

use std::collections::HashMap;

use anyhow::bail;

/// Options of the `key:value` form that follow a command's fixed arguments.
pub fn options<'a>(
    args: &'a [String],
    known: &[&str],
) -> anyhow::Result<HashMap<&'a str, &'a str>> {
    let mut map = HashMap::new();
    for a in args {
        let Some((key, value)) = a.split_once(':') else {
            bail!(
                "{a}: expected an option of the form key:value ({})",
                known.join(", ")
            );
        };
        if !known.contains(&key) {
            bail!("{key}: unknown option (known: {})", known.join(", "));
        }
        map.insert(key, value);
    }
    Ok(map)
}

/// The value of a `key:true|false` option, false when it is not given.
pub fn flag(opts: &HashMap<&str, &str>, key: &str) -> anyhow::Result<bool> {
    match opts.get(key).copied() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => bail!("{key}:{other}: expected true or false"),
    }
}
