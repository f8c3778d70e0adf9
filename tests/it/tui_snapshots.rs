//! Snapshots (insta) of the browser's main screens, drawn with ratatui's TestBackend: the root
//! listing, a text preview, a hex preview, the info card, an active filter, the help, and a
//! 40x10 terminal.

use std::path::Path;

use insta::assert_snapshot;
use isofish::tui::App;
use ratatui::crossterm::event::KeyCode;

use crate::tui::{browse_session, key, sample, screen, typed};

#[test]
fn root_listing() {
    let mut s = sample();
    let mut app = App::new(&mut s, None).unwrap();
    assert_snapshot!(screen(&mut app, 80, 16));
}

#[test]
fn text_preview() {
    let mut s = sample();
    let mut app = App::new(&mut s, Some("/isolinux/isolinux.cfg")).unwrap();
    assert_snapshot!(screen(&mut app, 80, 12));
}

#[test]
fn hex_preview() {
    let (_dir, _iso, mut s) = browse_session();
    let mut app = App::new(&mut s, Some("/bin/blob.bin")).unwrap();
    // Device names and the scratch path vary: the status line is left out.
    let shown = screen(&mut app, 140, 14);
    let body: Vec<&str> = shown.lines().take(12).collect();
    assert_snapshot!(body.join("\n"));
}

#[test]
fn nested_image_card_and_entered() {
    let (_dir, _iso, mut s) = browse_session();
    let mut app = App::new(&mut s, Some("/nested.sqfs")).unwrap();
    let shown = screen(&mut app, 100, 20);
    let body: Vec<&str> = shown.lines().take(18).collect();
    assert_snapshot!("nested_image_card", body.join("\n"));
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    assert_snapshot!("nested_image_entered", screen(&mut app, 80, 10));
}

#[test]
fn info_card() {
    let mut s = sample();
    let mut app = App::new(&mut s, Some("/docs/guide/intro.txt")).unwrap();
    key(&mut app, KeyCode::Char('i'));
    assert_snapshot!(screen(&mut app, 100, 46));
}

#[test]
fn filter_active() {
    let mut s = sample();
    let mut app = App::new(&mut s, Some("/docs")).unwrap();
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "txt");
    assert_snapshot!(screen(&mut app, 80, 12));
}

#[test]
fn help() {
    let mut s = sample();
    let mut app = App::new(&mut s, None).unwrap();
    key(&mut app, KeyCode::Char('?'));
    assert_snapshot!(screen(&mut app, 100, 20));
}

#[test]
fn tiny_terminal() {
    let mut s = sample();
    let mut app = App::new(&mut s, Some(Path::new("/README.TXT").to_str().unwrap())).unwrap();
    assert_snapshot!(screen(&mut app, 40, 10));
}
