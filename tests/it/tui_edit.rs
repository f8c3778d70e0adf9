//! The browser pane's editing keys, driven key by key on a writable session over a copy of the
//! browse image: remove (with its question), new directory, rename, upload, revert, the list of
//! staged changes, commit to a new file and back into the image, each prompt cancelled with
//! Esc, and `--ro` refusing every editing key. What a commit wrote is read back by bsdtar and
//! xorriso.

use std::path::Path;

use isofish::fs::MountOptions;
use isofish::session::Session;
use isofish::tui::app::{Action, Mode, Prompt};
use isofish::tui::App;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

use crate::commit::xorriso_cat;
use crate::common::scratch;
use crate::tui::{browse_image, bsdtar_children, key, names, screen, select, session, typed};

/// A writable session with `image` mounted at `/`.
fn writable(image: &Path) -> Session {
    let mut s = Session::new(false);
    let dev = s.add_drive(image).expect("image opens");
    s.mount(&dev, "/", MountOptions::default())
        .expect("image mounts");
    s
}

/// A writable session over a fresh browse image: the scratch directory that holds it, the
/// image, the session.
fn writable_copy() -> (tempfile::TempDir, std::path::PathBuf, Session) {
    let dir = scratch();
    let iso = browse_image(dir.path());
    let s = writable(&iso);
    (dir, iso, s)
}

/// Makes directory `name` with `m`.
fn mkdir(app: &mut App, name: &str) {
    key(app, KeyCode::Char('m'));
    typed(app, name);
    key(app, KeyCode::Enter);
}

/// The status line's message.
fn message(app: &App) -> String {
    app.message().map(|m| m.text.clone()).unwrap_or_default()
}

/// What the shell's `changes` prints for the session, run after the pane.
fn changes_of(app: &mut App) -> Vec<String> {
    key(app, KeyCode::Char('s'));
    let lines = match app.mode() {
        Mode::Changes(list) => list.lines.clone(),
        _ => Vec::new(),
    };
    key(app, KeyCode::Char('q'));
    lines
}

/// Commits from the pane to a new file `out`.
fn commit_to(app: &mut App, out: &Path) {
    key(app, KeyCode::Char('w'));
    typed(app, out.to_str().unwrap());
    key(app, KeyCode::Enter);
    run_commit(app);
    assert_eq!(message(app), format!("committed to {}", out.display()));
}

/// What the pane's loop does after `w`'s question: gives up the terminal and runs the commit.
fn run_commit(app: &mut App) {
    let to = app.take_commit().expect("w asked for a commit");
    app.finish_commit(&to);
}

#[test]
fn remove_asks_with_the_count_and_y_removes_what_it_named() {
    let (dir, iso, mut s) = writable_copy();
    let mut app = App::new(&mut s, None).unwrap();
    select(&mut app, "bin");
    key(&mut app, KeyCode::Char('d'));
    let Mode::Confirm { question, .. } = app.mode() else {
        panic!("d asks first");
    };
    let held = bsdtar_children(&iso, "bin").len();
    assert_eq!(
        question,
        &format!("remove /bin/ and the {held} entry in it? [y/N]")
    );
    key(&mut app, KeyCode::Char('n'));
    assert!(names(&app).contains(&"bin".to_string()), "n keeps it");
    key(&mut app, KeyCode::F(8));
    key(&mut app, KeyCode::Char('y'));
    assert_eq!(message(&app), "removed /bin");
    assert!(!names(&app).contains(&"bin".to_string()));
    assert!(changes_of(&mut app).contains(&"D /bin/".to_string()));
    let out = dir.path().join("out.iso");
    commit_to(&mut app, &out);
    assert!(!bsdtar_children(&out, "").contains(&"bin".to_string()));
    assert!(bsdtar_children(&iso, "").contains(&"bin".to_string()));
}

#[test]
fn mkdir_rename_and_upload_stage_and_mark_their_entries() {
    let dir = scratch();
    let iso = browse_image(dir.path());
    let host = dir.path().join("up.txt");
    std::fs::write(&host, "uploaded\n").unwrap();
    let mut s = writable(&iso);
    let mut app = App::new(&mut s, None).unwrap();
    mkdir(&mut app, "newdir");
    assert_eq!(app.current().unwrap().display, "newdir");
    assert_eq!(app.mark("/newdir"), Some('A'));
    select(&mut app, "notes.txt");
    key(&mut app, KeyCode::F(6));
    let Mode::Input { prompt, text } = app.mode() else {
        panic!("r asks for the new name");
    };
    assert_eq!((*prompt, text.as_str()), (Prompt::Rename, "notes.txt"));
    for _ in 0.."txt".len() {
        key(&mut app, KeyCode::Backspace);
    }
    typed(&mut app, "md");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.current().unwrap().display, "notes.md");
    assert_eq!(app.mark("/notes.md"), Some('R'));
    key(&mut app, KeyCode::Char('u'));
    typed(&mut app, host.to_str().unwrap());
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.current().unwrap().display, "up.txt");
    // The listing marks them in a column of letters, as `changes` does; the status line
    // counts them once the next key clears the message.
    key(&mut app, KeyCode::Up);
    let shown = screen(&mut app, 80, 12);
    for row in ["A newdir/", "R notes.md", "A up.txt"] {
        assert!(shown.contains(row), "{row} is not marked:\n{shown}");
    }
    assert!(shown.contains("3 staged"), "{shown}");
    let out = dir.path().join("out.iso");
    commit_to(&mut app, &out);
    let names = bsdtar_children(&out, "");
    for name in ["newdir", "notes.md", "up.txt"] {
        assert!(names.contains(&name.to_string()), "{name} not in {names:?}");
    }
    assert!(!names.contains(&"notes.txt".to_string()));
    assert_eq!(xorriso_cat(&out, "/up.txt"), b"uploaded\n");
}

#[test]
fn z_reverts_the_selection_and_the_changes_list_jumps_and_reverts() {
    let (_dir, _iso, mut s) = writable_copy();
    let mut app = App::new(&mut s, None).unwrap();
    for name in ["one", "two"] {
        mkdir(&mut app, name);
    }
    select(&mut app, "one");
    key(&mut app, KeyCode::Char('z'));
    assert!(
        !names(&app).contains(&"one".to_string()),
        "z reverted the new one"
    );
    // The list is what `changes` prints, ending with how a commit would go.
    key(&mut app, KeyCode::Char('s'));
    let Mode::Changes(list) = app.mode() else {
        panic!("s lists the changes");
    };
    assert_eq!(list.lines[0], "A /two/");
    assert!(list.lines[1].starts_with("commit: "), "{:?}", list.lines);
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode(), Mode::Browse));
    assert_eq!(app.current().unwrap().node.path, "/two");
    key(&mut app, KeyCode::Home);
    key(&mut app, KeyCode::Char('s'));
    key(&mut app, KeyCode::Char('z'));
    assert_eq!(message(&app), "/two: staged changes reverted");
    assert!(!names(&app).contains(&"two".to_string()));
    key(&mut app, KeyCode::Char('q'));
    key(&mut app, KeyCode::Char('s'));
    assert_eq!(message(&app), "nothing staged");
}

#[test]
fn every_prompt_cancels_with_esc_staging_nothing() {
    let (_dir, _iso, mut s) = writable_copy();
    let mut app = App::new(&mut s, None).unwrap();
    select(&mut app, "notes.txt");
    for k in ['m', 'r', 'u', 'w'] {
        key(&mut app, KeyCode::Char(k));
        assert!(matches!(app.mode(), Mode::Input { .. }), "{k} prompts");
        typed(&mut app, "x");
        key(&mut app, KeyCode::Esc);
        assert!(
            matches!(app.mode(), Mode::Browse),
            "Esc leaves {k}'s prompt"
        );
    }
    key(&mut app, KeyCode::Delete);
    key(&mut app, KeyCode::Esc);
    assert_eq!(message(&app), "/notes.txt: kept");
    assert_eq!(app.staged_count(), 0);
    assert_eq!(app.take_commit(), None, "Esc asks for no commit");
    drop(app);
    assert_eq!(s.pending(), 0);
}

#[test]
fn commit_back_into_the_image_says_how_and_keeps_browsing() {
    let (_dir, iso, mut s) = writable_copy();
    let mut app = App::new(&mut s, None).unwrap();
    mkdir(&mut app, "kept");
    key(&mut app, KeyCode::Char('w'));
    let shown = screen(&mut app, 100, 12);
    assert!(shown.contains("1 staged; Enter: commit: "), "{shown}");
    key(&mut app, KeyCode::Enter);
    run_commit(&mut app);
    assert!(
        message(&app).starts_with("committed into the image (commit: "),
        "{}",
        message(&app)
    );
    assert_eq!(app.staged_count(), 0);
    assert!(names(&app).contains(&"kept".to_string()));
    assert!(bsdtar_children(&iso, "").contains(&"kept".to_string()));
}

#[test]
fn a_commit_that_fails_says_why_and_keeps_the_session() {
    let (_dir, _iso, mut s) = writable_copy();
    let mut app = App::new(&mut s, None).unwrap();
    mkdir(&mut app, "kept");
    key(&mut app, KeyCode::Char('w'));
    typed(&mut app, "/nonexistent-dir/out.iso");
    key(&mut app, KeyCode::Enter);
    run_commit(&mut app);
    let m = app.message().expect("an error shows");
    assert!(m.error && m.text.contains("/nonexistent-dir"), "{}", m.text);
    assert_eq!(app.mark("/kept"), Some('A'));
}

#[test]
fn a_read_only_session_refuses_every_editing_key() {
    let dir = scratch();
    let iso = browse_image(dir.path());
    let mut s = session(&iso);
    let mut app = App::new(&mut s, Some("/notes.txt")).unwrap();
    for k in [
        KeyCode::Char('e'),
        KeyCode::F(4),
        KeyCode::Char('d'),
        KeyCode::Delete,
        KeyCode::Char('m'),
        KeyCode::Char('r'),
        KeyCode::Char('u'),
        KeyCode::Char('z'),
        KeyCode::Char('w'),
    ] {
        key(&mut app, k);
        assert!(matches!(app.mode(), Mode::Browse), "{k:?} opened something");
        let m = app.message().expect("a refusal shows");
        assert!(m.error && m.text.contains("--ro"), "{k:?}: {}", m.text);
    }
    assert_eq!(app.take_edit(), None);
    assert_eq!(app.take_commit(), None);
}

#[test]
fn snapshots_of_the_marked_listing_and_the_changes_list() {
    let (_dir, _iso, mut s) = writable_copy();
    let mut app = App::new(&mut s, None).unwrap();
    mkdir(&mut app, "made");
    select(&mut app, "notes.txt");
    key(&mut app, KeyCode::Char('r'));
    typed(&mut app, ".old");
    key(&mut app, KeyCode::Enter);
    select(&mut app, "bin");
    key(&mut app, KeyCode::Char('d'));
    key(&mut app, KeyCode::Char('y'));
    key(&mut app, KeyCode::Home);
    // The status line names the scratch image: left out.
    let body = |shown: String| shown.lines().take(8).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!("marked_listing", body(screen(&mut app, 80, 10)));
    key(&mut app, KeyCode::Char('s'));
    insta::assert_snapshot!("changes_list", body(screen(&mut app, 80, 10)));
}

#[test]
fn leaving_a_pane_that_ends_the_session_asks_about_staged_changes() {
    let (_dir, iso, mut s) = writable_copy();
    let mut app = App::new(&mut s, None).unwrap();
    key(&mut app, KeyCode::Char('q'));
    assert!(app.quitting(), "a browse command's pane leaves at once");
    let mut app = App::new(&mut s, None).unwrap();
    app.ends_session();
    key(&mut app, KeyCode::Char('q'));
    assert!(app.quitting(), "nothing staged: no question");
    let mut app = App::new(&mut s, None).unwrap();
    app.ends_session();
    mkdir(&mut app, "left");
    for (answer, quits) in [(KeyCode::Char('a'), false), (KeyCode::Esc, false)] {
        key(&mut app, KeyCode::Char('q'));
        assert!(matches!(
            app.mode(),
            Mode::Confirm {
                action: Action::Leave,
                ..
            }
        ));
        key(&mut app, answer);
        assert_eq!(app.quitting(), quits);
    }
    // Ctrl-C asks too; a second one leaves the changes.
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    app.handle(Event::Key(ctrl_c));
    assert!(!app.quitting());
    app.handle(Event::Key(ctrl_c));
    assert!(app.quitting());
    let mut app = App::new(&mut s, None).unwrap();
    app.ends_session();
    key(&mut app, KeyCode::Char('q'));
    key(&mut app, KeyCode::Char('d'));
    assert!(app.quitting());
    drop(app);
    assert!(!bsdtar_children(&iso, "").contains(&"left".to_string()));
    assert_eq!(s.pending(), 1, "d leaves the changes staged in the session");
}

#[test]
fn tab_completes_host_paths_in_the_upload_prompt() {
    let (dir, _iso, mut s) = writable_copy();
    for name in ["upload-one.txt", "upload-two.txt"] {
        std::fs::write(dir.path().join(name), name).unwrap();
    }
    let mut app = App::new(&mut s, None).unwrap();
    key(&mut app, KeyCode::Char('u'));
    typed(&mut app, &format!("{}/upl", dir.path().display()));
    key(&mut app, KeyCode::Tab);
    let shown = screen(&mut app, 100, 12);
    assert!(shown.contains("upload-one.txt  upload-two.txt"), "{shown}");
    typed(&mut app, "t");
    key(&mut app, KeyCode::Tab);
    let Mode::Input { text, .. } = app.mode() else {
        panic!("Tab keeps the prompt");
    };
    assert_eq!(*text, format!("{}/upload-two.txt", dir.path().display()));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.current().unwrap().display, "upload-two.txt");
}

#[test]
fn a_file_inside_a_squashfs_is_changed_from_the_pane_and_committed() {
    let dir = scratch();
    let iso = dir.path().join("nested.iso");
    std::fs::copy(crate::common::fixture("nested.iso"), &iso).unwrap();
    let mut s = writable(&iso);
    s.mount_loop("/root.sqfs", "/sq", None, MountOptions::default())
        .unwrap();
    let mut app = App::new(&mut s, Some("/sq/etc")).unwrap();
    mkdir(&mut app, "from-the-pane");
    assert_eq!(app.mark("/sq/etc/from-the-pane"), Some('A'));
    key(&mut app, KeyCode::Char('w'));
    let shown = screen(&mut app, 160, 12);
    assert!(shown.contains("rebuild /root.sqfs: squashfs"), "{shown}");
    key(&mut app, KeyCode::Esc);
    let out = dir.path().join("out.iso");
    commit_to(&mut app, &out);
    let sqfs = dir.path().join("root.sqfs");
    crate::common::xorriso_extract(&out, "/root.sqfs", &sqfs);
    let listed = crate::common::tool("unsquashfs", &["-ll", sqfs.to_str().unwrap()], None);
    let listed = String::from_utf8(listed).unwrap();
    assert!(
        listed.contains("squashfs-root/etc/from-the-pane"),
        "{listed}"
    );
}
