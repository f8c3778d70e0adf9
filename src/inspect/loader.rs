//! systemd-boot's entries (`/loader/entries/*.conf`, as Arch Linux's EFI image holds them):
//! one entry per file, with its `title`, `linux` (or `efi`), `initrd` lines and `options`.

use super::menu::Entry;

/// The entry one `.conf` file describes; `name` (the file's name) titles it when it has no
/// `title`.
pub fn parse(name: &str, text: &str) -> Entry {
    let mut e = Entry::titled(name.strip_suffix(".conf").unwrap_or(name));
    let mut options = Vec::new();
    for line in text.lines().map(str::trim) {
        let (key, value) = match line.split_once(char::is_whitespace) {
            Some((k, v)) => (k, v.trim()),
            None => (line, ""),
        };
        match key {
            "title" => e.title = value.to_string(),
            "linux" | "efi" => e.kernel = Some(value.to_string()),
            "initrd" => e
                .initrds
                .extend(value.split_whitespace().map(str::to_string)),
            "options" => options.push(value),
            _ => {}
        }
    }
    e.args = options.join(" ");
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_file() {
        let e = parse(
            "01-archiso.conf",
            "title Arch Linux install medium\nlinux /arch/boot/x86_64/vmlinuz-linux\ninitrd /arch/boot/x86_64/initramfs-linux.img\noptions archisobasedir=arch\noptions quiet\n",
        );
        assert_eq!(e.title, "Arch Linux install medium");
        assert_eq!(e.kernel.as_deref(), Some("/arch/boot/x86_64/vmlinuz-linux"));
        assert_eq!(e.initrds, ["/arch/boot/x86_64/initramfs-linux.img"]);
        assert_eq!(e.args, "archisobasedir=arch quiet");
        assert_eq!(parse("x.conf", "").title, "x");
    }
}
