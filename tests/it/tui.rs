//! The browser pane's state machine, driven key by key without a terminal, on the sample
//! fixture and on images xorriso and mksquashfs make here; what it shows is held against bsdtar
//! and hexdump. Also the helpers the snapshot and pseudo-terminal tests share.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use isofish::fs::{self, DirEntry, FileSystem, Ino, Metadata, MountOptions};
use isofish::session::Session;
use isofish::source::{FileSource, Source};
use isofish::tui::app::{Mode, Popup, Prompt};
use isofish::tui::preview::Preview;
use isofish::tui::{keys, view, App, Theme};
use isofish::vfs::Mount;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{
    Event, KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::Terminal;

use crate::common::{fixture, isofish, root, scratch, tool, xorriso_rr};

/// The sample fixture by its path relative to the repository (as the status line shows it).
pub const SAMPLE: &str = "tests/fixtures/sample.iso";

/// A read-only session with `image` mounted at `/`.
pub fn session(image: &Path) -> Session {
    let mut s = Session::new(true);
    let dev = s.add_drive(image).expect("image opens");
    s.mount(&dev, "/", MountOptions::default())
        .expect("image mounts");
    s
}

/// The sample fixture's session (the path relative to the repository root, the tests' cwd).
pub fn sample() -> Session {
    fixture("sample.iso");
    session(Path::new(SAMPLE))
}

/// A session on a fresh [`browse_image`]; returns the scratch directory (which holds the
/// image while it lives), the image and the session.
pub fn browse_session() -> (tempfile::TempDir, PathBuf, Session) {
    let dir = scratch();
    let iso = browse_image(dir.path());
    let s = session(&iso);
    (dir, iso, s)
}

/// Presses one key.
pub fn key(app: &mut App, code: KeyCode) {
    app.handle(Event::Key(code.into()));
}

/// Types the characters of `text`, one key each.
pub fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

/// Runs one shell command line from the pane: ':', the line, Enter.
fn run_line(app: &mut App, line: &str) {
    key(app, KeyCode::Char(':'));
    typed(app, line);
    key(app, KeyCode::Enter);
}

/// The popup the app shows; panics with `what` (what should have opened it) when none shows.
fn shown_popup<'a>(app: &'a App, what: &str) -> &'a Popup {
    match app.mode() {
        Mode::Popup(popup) => popup,
        _ => panic!("{what}"),
    }
}

/// Moves the selection to the entry called `name`.
pub fn select(app: &mut App, name: &str) {
    key(app, KeyCode::Home);
    let index = app
        .rows()
        .position(|e| e.name == name.as_bytes())
        .unwrap_or_else(|| panic!("{name} is not listed"));
    for _ in 0..index {
        key(app, KeyCode::Down);
    }
}

/// The screen as text after one draw at `width`x`height`, without colour.
pub fn screen(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|f| view::draw(f, app, &Theme { color: false }))
        .expect("draw");
    terminal.backend().to_string()
}

/// The lines a host tool prints.
fn tool_lines(program: &str, args: &[&str]) -> Vec<String> {
    let out = tool(program, args, None);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// The names listed in the pane.
pub fn names(app: &App) -> Vec<String> {
    app.rows().map(|e| e.display.clone()).collect()
}

/// The entries bsdtar lists directly under `dir` (`""` for the root), sorted.
pub fn bsdtar_children(image: &Path, dir: &str) -> Vec<String> {
    let out = tool("bsdtar", &["tf", image.to_str().unwrap()], None);
    let mut names: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| l.trim_start_matches("./").trim_end_matches('/').to_string())
        .filter_map(|l| {
            let rest = if dir.is_empty() {
                l.as_str()
            } else {
                l.strip_prefix(&format!("{dir}/"))?
            };
            (!rest.is_empty() && rest != "." && !rest.contains('/')).then(|| rest.to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// An image with a binary file, a 40-line text file and a squashfs holding `inner/hello.txt`,
/// made by mksquashfs and xorriso in `dir`.
pub fn browse_image(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    let inner = dir.join("inner");
    std::fs::create_dir_all(tree.join("bin")).unwrap();
    std::fs::create_dir_all(inner.join("inner")).unwrap();
    let blob: Vec<u8> = (0..=255u8).collect();
    std::fs::write(tree.join("bin/blob.bin"), &blob).unwrap();
    let notes: String = (1..=40).map(|i| format!("line {i}\n")).collect();
    std::fs::write(tree.join("notes.txt"), notes).unwrap();
    std::fs::write(inner.join("inner/hello.txt"), "hello from squashfs\n").unwrap();
    let sqfs = tree.join("nested.sqfs");
    tool(
        "mksquashfs",
        &[
            inner.to_str().unwrap(),
            sqfs.to_str().unwrap(),
            "-noappend",
            "-all-root",
            "-mkfs-time",
            "0",
            "-all-time",
            "0",
            "-quiet",
        ],
        None,
    );
    let iso = dir.join("browse.iso");
    tool(
        "xorriso",
        &[
            "-as",
            "mkisofs",
            "-R",
            "-J",
            "-V",
            "BROWSE",
            "-o",
            iso.to_str().unwrap(),
            tree.to_str().unwrap(),
        ],
        None,
    );
    iso
}

#[test]
fn root_listing_is_what_bsdtar_lists_directories_first() {
    let mut s = sample();
    let app = App::new(&mut s, None).unwrap();
    let mut listed = names(&app);
    let dirs: Vec<bool> = app.rows().map(|e| e.node.is_dir()).collect();
    assert!(
        dirs.windows(2).all(|w| w[0] >= w[1]),
        "directories come first: {listed:?}"
    );
    listed.sort();
    assert_eq!(listed, bsdtar_children(Path::new(SAMPLE), ""));
}

#[test]
fn enter_opens_a_directory_and_backspace_comes_back_to_it() {
    let mut s = sample();
    let mut app = App::new(&mut s, None).unwrap();
    select(&mut app, "docs");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.dir().path, "/docs");
    let mut listed = names(&app);
    listed.sort();
    assert_eq!(listed, bsdtar_children(Path::new(SAMPLE), "docs"));
    select(&mut app, "guide");
    key(&mut app, KeyCode::Char('l'));
    assert_eq!(app.dir().path, "/docs/guide");
    key(&mut app, KeyCode::Backspace);
    assert_eq!(app.dir().path, "/docs");
    assert_eq!(app.current().unwrap().display, "guide");
    key(&mut app, KeyCode::Left);
    key(&mut app, KeyCode::Char('h'));
    assert_eq!(app.dir().path, "/");
    assert_eq!(app.current().unwrap().display, "docs");
}

#[test]
fn movement_keys_stop_at_the_ends() {
    let mut s = sample();
    let mut app = App::new(&mut s, None).unwrap();
    // A page is as tall as the list was drawn.
    screen(&mut app, 80, 24);
    let last = app.rows().len() - 1;
    key(&mut app, KeyCode::Char('G'));
    assert_eq!(app.selected(), last);
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.selected(), last);
    key(&mut app, KeyCode::Char('g'));
    assert_eq!(app.selected(), 0);
    key(&mut app, KeyCode::Char('k'));
    assert_eq!(app.selected(), 0);
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.selected(), last);
    key(&mut app, KeyCode::PageUp);
    assert_eq!(app.selected(), 0);
}

#[test]
fn filter_narrows_as_typed_enter_keeps_it_esc_drops_it() {
    let mut s = sample();
    let mut app = App::new(&mut s, Some("/docs")).unwrap();
    let all = names(&app);
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "t");
    let with_t: Vec<String> = all
        .iter()
        .filter(|n| n.to_lowercase().contains('t'))
        .cloned()
        .collect();
    assert_eq!(names(&app), with_t);
    typed(&mut app, "xt");
    assert!(names(&app).iter().all(|n| n.contains("txt")));
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Char('t'));
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode(), Mode::Browse));
    assert_eq!(app.filter(), Some("txt"));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.filter(), None);
    assert_eq!(names(&app), all);
    assert!(!app.quitting(), "the first Esc drops the filter");
    key(&mut app, KeyCode::Esc);
    assert!(app.quitting());
}

#[test]
fn n_and_shift_n_cycle_through_matches_of_the_last_filter() {
    let mut s = sample();
    let mut app = App::new(&mut s, Some("/docs")).unwrap();
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "txt");
    key(&mut app, KeyCode::Esc);
    let matching: Vec<usize> = app
        .rows()
        .enumerate()
        .filter(|(_, e)| e.display.contains("txt"))
        .map(|(i, _)| i)
        .collect();
    assert!(matching.len() >= 2);
    key(&mut app, KeyCode::Char('g'));
    let mut seen = Vec::new();
    for _ in 0..matching.len() {
        key(&mut app, KeyCode::Char('n'));
        seen.push(app.selected());
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, matching, "n visits every match once");
    key(&mut app, KeyCode::Char('N'));
    assert_eq!(app.selected(), seen[seen.len() - 2]);
}

#[test]
fn text_preview_shows_the_first_lines() {
    let mut s = sample();
    let mut app = App::new(&mut s, Some("/README.TXT")).unwrap();
    assert_eq!(app.current().unwrap().display, "README.TXT");
    let expected = tool_lines("bsdtar", &["xOf", SAMPLE, "README.TXT"]);
    match app.preview() {
        Preview::Text(lines) => assert_eq!(lines, &expected),
        _ => panic!("README.TXT previews as text"),
    }
}

#[test]
fn binary_preview_is_what_hexdump_c_prints() {
    let (dir, iso, mut s) = browse_session();
    let mut app = App::new(&mut s, Some("/bin/blob.bin")).unwrap();
    let blob = dir.path().join("blob.bin");
    std::fs::write(
        &blob,
        tool(
            "bsdtar",
            &["xOf", iso.to_str().unwrap(), "bin/blob.bin"],
            None,
        ),
    )
    .unwrap();
    let mut expected = tool_lines("hexdump", &["-C", blob.to_str().unwrap()]);
    expected.pop(); // hexdump's closing offset line
    match app.preview() {
        Preview::Hex(lines) => assert_eq!(lines, &expected),
        _ => panic!("blob.bin previews as hex"),
    }
}

#[test]
fn enter_on_a_plain_file_opens_a_scrollable_viewer() {
    let (_dir, _iso, mut s) = browse_session();
    let mut app = App::new(&mut s, Some("/notes.txt")).unwrap();
    key(&mut app, KeyCode::Enter);
    let popup = shown_popup(&app, "a viewer opens");
    assert_eq!(popup.lines.len(), 40);
    assert_eq!(popup.lines[39], "line 40");
    key(&mut app, KeyCode::Char('G'));
    let popup = shown_popup(&app, "G scrolls the viewer");
    assert_eq!(popup.scroll, 39);
    key(&mut app, KeyCode::Char('q'));
    assert!(matches!(app.mode(), Mode::Browse));
    assert!(!app.quitting(), "q closes the viewer, not the browser");
}

#[test]
fn x_extracts_the_selection_like_bsdtar() {
    let out = scratch();
    let mut s = sample();
    let mut app = App::new(&mut s, Some("/docs")).unwrap();
    key(&mut app, KeyCode::Char('h'));
    assert_eq!(app.current().unwrap().display, "docs");
    key(&mut app, KeyCode::Char('x'));
    let Mode::Input { prompt, text } = app.mode() else {
        panic!("x asks where")
    };
    assert_eq!((*prompt, text.as_str()), (Prompt::Extract, "."));
    key(&mut app, KeyCode::Backspace);
    typed(&mut app, out.path().to_str().unwrap());
    key(&mut app, KeyCode::Enter);
    while app.busy() {
        app.tick();
    }
    let msg = app.message().expect("a summary");
    assert!(!msg.error, "{}", msg.text);
    assert!(msg.text.starts_with("extracted "), "{}", msg.text);

    let oracle = scratch();
    tool(
        "bsdtar",
        &["xf", root().join(SAMPLE).to_str().unwrap(), "docs"],
        Some(oracle.path()),
    );
    assert_same_tree(&oracle.path().join("docs"), &out.path().join("docs"));

    // A second extraction to the same place refuses instead of overwriting.
    key(&mut app, KeyCode::Char('x'));
    key(&mut app, KeyCode::Backspace);
    typed(&mut app, out.path().to_str().unwrap());
    key(&mut app, KeyCode::Enter);
    let msg = app.message().expect("an error");
    assert!(
        msg.error && msg.text.contains("already exists"),
        "{}",
        msg.text
    );
}

/// Same names, same file contents, same symlink targets.
fn assert_same_tree(expected: &Path, actual: &Path) {
    let mut want: Vec<_> = std::fs::read_dir(expected)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let mut got: Vec<_> = std::fs::read_dir(actual)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "{}", actual.display());
    for name in want {
        let (e, a) = (expected.join(&name), actual.join(&name));
        let meta = std::fs::symlink_metadata(&e).unwrap();
        if meta.file_type().is_symlink() {
            assert_eq!(
                std::fs::read_link(&a).unwrap(),
                std::fs::read_link(&e).unwrap()
            );
        } else if meta.is_dir() {
            assert_same_tree(&e, &a);
        } else {
            assert_eq!(
                std::fs::read(&a).unwrap(),
                std::fs::read(&e).unwrap(),
                "{name:?}"
            );
        }
    }
}

#[test]
fn colon_runs_one_shell_command_and_the_pane_follows_cd() {
    let mut s = sample();
    let mut app = App::new(&mut s, None).unwrap();
    run_line(&mut app, "cd /isolinux");
    assert_eq!(app.dir().path, "/isolinux");

    run_line(&mut app, "ls");
    let popup = shown_popup(&app, "the output shows");
    assert_eq!(popup.lines, bsdtar_children(Path::new(SAMPLE), "isolinux"));
    key(&mut app, KeyCode::Esc);

    run_line(&mut app, "no-such-command");
    let msg = app.message().expect("an error");
    assert!(
        msg.error && msg.text.contains("unknown command"),
        "{}",
        msg.text
    );

    app.leave();
    assert_eq!(
        s.cwd(),
        "/isolinux",
        "the shell continues where the pane was"
    );
}

#[test]
fn browse_inside_the_browser_is_refused_by_the_missing_terminal_not_recursion() {
    let mut s = sample();
    let mut app = App::new(&mut s, None).unwrap();
    run_line(&mut app, "browse");
    let msg = app.message().expect("an error");
    assert!(msg.error, "{}", msg.text);
}

/// A filesystem that counts `read_dir` calls of the one it wraps.
struct Counting {
    inner: Arc<dyn FileSystem>,
    reads: AtomicUsize,
}

impl FileSystem for Counting {
    fn type_name(&self) -> &'static str {
        self.inner.type_name()
    }
    fn source(&self) -> &Arc<dyn Source> {
        self.inner.source()
    }
    fn label(&self) -> Option<String> {
        self.inner.label()
    }
    fn root(&self) -> Ino {
        self.inner.root()
    }
    fn metadata(&self, ino: Ino) -> isofish::Result<Metadata> {
        self.inner.metadata(ino)
    }
    fn read_dir(&self, dir: Ino) -> isofish::Result<Vec<DirEntry>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read_dir(dir)
    }
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> isofish::Result<usize> {
        self.inner.read_at(ino, offset, buf)
    }
    fn info(&self) -> Vec<(String, String)> {
        self.inner.info()
    }
}

#[test]
fn a_directory_of_ten_thousand_entries_is_read_once_and_drawn_by_the_screenful() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    let many = tree.join("many");
    std::fs::create_dir_all(&many).unwrap();
    for i in 0..10_000 {
        std::fs::write(many.join(format!("f{i:05}")), b"").unwrap();
    }
    let iso = dir.path().join("many.iso");
    xorriso_rr(&tree, &iso);
    let source: Arc<dyn Source> = Arc::new(FileSource::open(&iso).unwrap());
    let counting = Arc::new(Counting {
        inner: fs::open(source, &MountOptions::default()).unwrap(),
        reads: AtomicUsize::new(0),
    });
    let mut s = Session::new(true);
    s.vfs.mount(Mount {
        mountpoint: "/".into(),
        device: iso.display().to_string(),
        fs: counting.clone(),
        options: MountOptions::default(),
    });
    let mut app = App::new(&mut s, None).unwrap();
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.rows().len(), 10_000);
    let reads = counting.reads.load(Ordering::SeqCst);
    for _ in 0..30 {
        key(&mut app, KeyCode::PageDown);
        screen(&mut app, 80, 24);
    }
    key(&mut app, KeyCode::Char('G'));
    let shown = screen(&mut app, 80, 24);
    assert!(shown.contains("f09999"), "{shown}");
    assert!(
        !shown.contains("f09000"),
        "only the last screenful is drawn"
    );
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Enter);
    assert_eq!(
        counting.reads.load(Ordering::SeqCst),
        reads,
        "moving, drawing and coming back read no directory again"
    );
}

#[test]
fn the_mouse_wheel_moves_and_a_click_selects_then_opens() {
    let mut s = sample();
    let mut app = App::new(&mut s, None).unwrap();
    screen(&mut app, 80, 24);
    let mouse = |kind, row| {
        Event::Mouse(MouseEvent {
            kind,
            column: 3,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.handle(mouse(MouseEventKind::ScrollDown, 1));
    assert_eq!(app.selected(), 3.min(app.rows().len() - 1));
    app.handle(mouse(MouseEventKind::ScrollUp, 1));
    assert_eq!(app.selected(), 0);
    let row =
        |app: &App, name: &str| 1 + app.rows().position(|e| e.display == name).unwrap() as u16;
    // Row 0 is the border; the list starts on row 1.
    app.handle(mouse(
        MouseEventKind::Down(MouseButton::Left),
        row(&app, "isolinux"),
    ));
    assert_eq!(app.current().unwrap().display, "isolinux");
    let docs = row(&app, "docs");
    app.handle(mouse(MouseEventKind::Down(MouseButton::Left), docs));
    assert_eq!(app.current().unwrap().display, "docs");
    app.handle(mouse(MouseEventKind::Down(MouseButton::Left), docs));
    assert_eq!(app.dir().path, "/docs");
}

#[test]
fn enter_mounts_a_nested_squashfs_in_place_and_leaving_it_unmounts_it() {
    let (dir, _iso, mut s) = browse_session();
    let mut app = App::new(&mut s, Some("/nested.sqfs")).unwrap();
    match app.preview() {
        Preview::Card(rows) => assert!(
            rows.iter()
                .any(|(k, v)| k == "image" && v == "squashfs filesystem"),
            "{rows:?}"
        ),
        _ => panic!("a squashfs previews as an image card"),
    }
    key(&mut app, KeyCode::Enter);
    assert!(app.message().is_none(), "{}", app.message().unwrap().text);
    assert_eq!(app.dir().path, "/nested.sqfs");
    assert_eq!(names(&app), ["inner"]);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.dir().path, "/nested.sqfs/inner");
    let sqfs = dir.path().join("tree/nested.sqfs");
    let expected = tool(
        "unsquashfs",
        &["-cat", sqfs.to_str().unwrap(), "inner/hello.txt"],
        None,
    );
    match app.preview() {
        Preview::Text(lines) => assert_eq!(
            lines.join("\n") + "\n",
            String::from_utf8(expected).unwrap()
        ),
        _ => panic!("hello.txt previews as text"),
    }
    key(&mut app, KeyCode::Left);
    assert_eq!(
        app.session().vfs.mounts().len(),
        2,
        "still inside the image"
    );
    key(&mut app, KeyCode::Left);
    assert_eq!(app.dir().path, "/");
    assert_eq!(app.current().unwrap().display, "nested.sqfs");
    assert!(!app.current().unwrap().node.is_dir(), "a file again");
    assert_eq!(
        app.session().vfs.mounts().len(),
        1,
        "unmounted on the way out"
    );
}

#[test]
fn quitting_inside_a_nested_image_leaves_it_mounted_for_the_shell() {
    let (_dir, _iso, mut s) = browse_session();
    let mut app = App::new(&mut s, Some("/nested.sqfs")).unwrap();
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('q'));
    app.leave();
    assert_eq!(s.cwd(), "/nested.sqfs/inner");
    let mounts: Vec<&str> = s
        .vfs
        .mounts()
        .iter()
        .map(|m| m.mountpoint.as_str())
        .collect();
    assert_eq!(mounts, ["/", "/nested.sqfs"]);
}

#[test]
fn i_shows_metadata_and_the_volume() {
    let mut s = sample();
    let mut app = App::new(&mut s, Some("/README.TXT")).unwrap();
    key(&mut app, KeyCode::Char('i'));
    let popup = shown_popup(&app, "i opens the info card");
    let text = popup.lines.join("\n");
    let stat = tool("isoinfo", &["-R", "-l", "-i", SAMPLE], None);
    let stat = String::from_utf8_lossy(&stat);
    let size = stat
        .lines()
        .find(|l| l.trim_end().ends_with(" README.TXT"))
        .and_then(|l| l.split_whitespace().nth(4))
        .expect("isoinfo lists README.TXT");
    assert!(
        popup
            .lines
            .iter()
            .any(|l| l.split_whitespace().take(2).eq(["size", size])),
        "{text}"
    );
    assert!(text.contains("ISOFISH_SAMPLE"), "the volume id: {text}");
    assert!(text.contains(SAMPLE), "the image: {text}");
}

#[test]
fn q_quits_and_the_session_keeps_the_directory_shown() {
    let mut s = sample();
    let mut app = App::new(&mut s, Some("/docs/guide")).unwrap();
    key(&mut app, KeyCode::Char('q'));
    assert!(app.quitting());
    app.leave();
    assert_eq!(s.cwd(), "/docs/guide");
}

#[test]
fn c_hands_the_path_to_the_clipboard() {
    let mut s = sample();
    let mut app = App::new(&mut s, Some("/docs/guide/intro.txt")).unwrap();
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(
        app.take_clipboard().as_deref(),
        Some("/docs/guide/intro.txt")
    );
    assert_eq!(app.take_clipboard(), None);
}

#[test]
fn no_color_draws_without_colours() {
    let mut s = sample();
    let mut app = App::new(&mut s, None).unwrap();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|f| view::draw(f, &mut app, &Theme { color: false }))
        .unwrap();
    let buffer = terminal.backend().buffer();
    assert!(buffer
        .content()
        .iter()
        .all(|c| c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset));
    terminal
        .draw(|f| view::draw(f, &mut app, &Theme { color: true }))
        .unwrap();
    let buffer = terminal.backend().buffer();
    assert!(buffer
        .content()
        .iter()
        .any(|c| c.bg != ratatui::style::Color::Reset));
}

#[test]
fn the_browse_page_documents_every_key() {
    let page = std::fs::read_to_string(root().join("commands/browse.md")).unwrap();
    for (keys, what) in keys::KEYS {
        assert!(
            page.contains(&format!("| {keys} | {what} |")),
            "commands/browse.md lacks the row for {keys}"
        );
    }
}

#[test]
fn browse_refuses_to_start_without_a_terminal() {
    fixture("sample.iso");
    isofish()
        .args(["--ro", "-a", SAMPLE, "browse"])
        .assert()
        .failure()
        .code(1)
        .stderr("isofish: error: browse: needs a terminal: standard input and output must both be one\n");
    isofish()
        .args(["--ro", "--tui", "-a", SAMPLE])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("needs a terminal"));
}

#[test]
fn the_info_card_lists_the_partitions_fdisk_finds() {
    let image = "tests/fixtures/boot-appended.iso";
    fixture("boot-appended.iso");
    let fdisk = tool("fdisk", &["-l", "-o", "Device,Start", image], None);
    let starts: Vec<(String, u64)> = String::from_utf8_lossy(&fdisk)
        .lines()
        .filter_map(|l| l.strip_prefix(image))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_string(), f[1].parse::<u64>().unwrap() * 512)
        })
        .collect();
    assert!(!starts.is_empty());
    let mut s = session(Path::new(image));
    let mut app = App::new(&mut s, None).unwrap();
    key(&mut app, KeyCode::Char('i'));
    let popup = shown_popup(&app, "i opens the info card");
    let partitions: Vec<(String, u64)> = popup
        .lines
        .iter()
        .filter_map(|l| l.strip_prefix("Partition "))
        .map(|l| {
            let number = l.split_whitespace().next().unwrap().to_string();
            let start = l.split(" at byte ").nth(1).unwrap();
            let start = start.split(',').next().unwrap().parse().unwrap();
            (number, start)
        })
        .collect();
    assert_eq!(partitions, starts, "{}", popup.lines.join("\n"));
}

#[test]
fn extraction_shows_progress_and_esc_stops_it() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let big: Vec<u8> = (0..24u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(tree.join("big.bin"), &big).unwrap();
    std::fs::write(tree.join("small.txt"), b"small\n").unwrap();
    let iso = dir.path().join("big.iso");
    xorriso_rr(&tree, &iso);
    let out = scratch();
    let mut s = session(&iso);
    let mut app = App::new(&mut s, Some("/big.bin")).unwrap();
    key(&mut app, KeyCode::Char('x'));
    key(&mut app, KeyCode::Backspace);
    typed(&mut app, out.path().to_str().unwrap());
    key(&mut app, KeyCode::Enter);
    let job = app.job().expect("a 24 MiB file takes more than one slice");
    assert!(job.bytes_done > 0 && job.bytes_done < job.bytes_total);
    assert_eq!(job.bytes_total, big.len() as u64);
    let shown = screen(&mut app, 100, 12);
    assert!(shown.contains("extracting /big.bin → "), "{shown}");
    assert!(shown.contains("Esc stops"), "{shown}");
    app.tick();
    key(&mut app, KeyCode::Esc);
    assert!(!app.busy(), "Esc stops the extraction");
    assert!(!app.quitting(), "and does not quit");
    let msg = app.message().expect("a summary");
    assert!(msg.text.starts_with("extraction stopped"), "{}", msg.text);

    // Run to the end this time, into a fresh directory: the bytes are the file's.
    let out = scratch();
    key(&mut app, KeyCode::Char('x'));
    key(&mut app, KeyCode::Backspace);
    typed(&mut app, out.path().to_str().unwrap());
    key(&mut app, KeyCode::Enter);
    while app.busy() {
        app.tick();
    }
    assert!(std::fs::read(out.path().join("big.bin")).unwrap() == big);
}

#[test]
fn the_selection_stays_in_view_when_the_terminal_shrinks() {
    let mut s = sample();
    let mut app = App::new(&mut s, Some("/docs")).unwrap();
    key(&mut app, KeyCode::Char('G'));
    let last = app.current().unwrap().display.clone();
    screen(&mut app, 80, 24);
    let tiny = screen(&mut app, 40, 5);
    assert!(tiny.contains(&format!("> {last}")), "{tiny}");
}

#[test]
fn enter_opens_an_efi_image_like_a_directory() {
    let image = "tests/fixtures/boot-eltorito.iso";
    fixture("boot-eltorito.iso");
    let dir = scratch();
    let efi = dir.path().join("efiboot.img");
    std::fs::write(
        &efi,
        tool("bsdtar", &["xOf", image, "EFI/efiboot.img"], None),
    )
    .unwrap();
    let loader = tool(
        "7z",
        &["x", "-so", efi.to_str().unwrap(), "EFI/BOOT/BOOTX64.EFI"],
        None,
    );

    let mut s = session(Path::new(image));
    let mut app = App::new(&mut s, Some("/EFI/efiboot.img")).unwrap();
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.dir().path, "/EFI/efiboot.img");
    for name in ["EFI", "BOOT"] {
        select(&mut app, name);
        key(&mut app, KeyCode::Enter);
    }
    select(&mut app, "BOOTX64.EFI");
    let out = scratch();
    key(&mut app, KeyCode::Char('x'));
    key(&mut app, KeyCode::Backspace);
    typed(&mut app, out.path().to_str().unwrap());
    key(&mut app, KeyCode::Enter);
    while app.busy() {
        app.tick();
    }
    assert_eq!(
        std::fs::read(out.path().join("BOOTX64.EFI")).unwrap(),
        loader
    );
    for _ in 0..3 {
        key(&mut app, KeyCode::Backspace);
    }
    assert_eq!(app.dir().path, "/EFI");
    assert_eq!(app.session().vfs.mounts().len(), 1);
}

#[test]
fn a_huge_command_output_is_cut_not_kept_whole() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let line = "0123456789abcdef0123456789abcdef0123456789abcdef012345678\n";
    std::fs::write(tree.join("big.txt"), line.repeat(100_000)).unwrap();
    let iso = dir.path().join("text.iso");
    xorriso_rr(&tree, &iso);
    let mut s = session(&iso);
    let mut app = App::new(&mut s, None).unwrap();
    run_line(&mut app, "cat big.txt");
    let popup = shown_popup(&app, "the output shows");
    assert_eq!(popup.lines[0], line.trim_end());
    assert_eq!(popup.lines.last().unwrap(), "(output cut at 1.0 MiB)");
    let kept: usize = popup.lines.iter().map(|l| l.len() + 1).sum();
    assert!(kept < (1 << 20) + 100, "{kept} bytes kept");
}

#[test]
fn x_into_a_missing_host_directory_offers_to_make_it() {
    let out = scratch();
    let dest = out.path().join("new/deeper");
    let mut s = sample();
    let mut app = App::new(&mut s, None).unwrap();
    select(&mut app, "docs");
    for (answer, made) in [(KeyCode::Char('n'), false), (KeyCode::Char('y'), true)] {
        key(&mut app, KeyCode::Char('x'));
        key(&mut app, KeyCode::Backspace);
        typed(&mut app, dest.to_str().unwrap());
        key(&mut app, KeyCode::Enter);
        assert!(matches!(app.mode(), Mode::Confirm { .. }), "x asks first");
        key(&mut app, answer);
        while app.busy() {
            app.tick();
        }
        assert_eq!(dest.join("docs").is_dir(), made);
    }
    let msg = app.message().expect("a summary");
    assert!(msg.text.starts_with("extracted "), "{}", msg.text);
}
