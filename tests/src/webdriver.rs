//! A small W3C WebDriver client (only what the app tests use), over blocking HTTP.
//! `tauri-driver` forwards it to WebKitWebDriver, which drives the app's webviews.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

/// W3C's key for element references in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct WebDriver {
    http: reqwest::blocking::Client,
    base: String,
}

pub struct Session {
    driver: WebDriver,
    id: String,
}

/// An element of the current window.
#[derive(Clone, Debug)]
pub struct Element(String);

impl WebDriver {
    pub fn new(url: &str) -> WebDriver {
        let http =
            reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        WebDriver { http, base: url.trim_end_matches('/').to_owned() }
    }

    /// Whether the driver answers `/status` (it takes a moment to start).
    pub fn ready(&self) -> bool {
        self.http.get(format!("{}/status", self.base)).send().is_ok_and(|r| r.status().is_success())
    }

    /// A session running `application args…` (tauri-driver's `tauri:options`).
    pub fn session(self, application: &Path, args: &[&str]) -> Result<Session, String> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": application, "args": args},
        }}});
        let v =
            call(&self.http, reqwest::Method::POST, &format!("{}/session", self.base), Some(caps))?;
        let id = v["sessionId"].as_str().ok_or_else(|| format!("no sessionId in {v}"))?.to_owned();
        Ok(Session { driver: self, id })
    }
}

fn call(
    http: &reqwest::blocking::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut req = http.request(method.clone(), url);
    if let Some(body) = body {
        req = req.json(&body);
    } else if method == reqwest::Method::POST {
        req = req.json(&json!({}));
    }
    let resp = req.send().map_err(|e| format!("{method} {url}: {e}"))?;
    let status = resp.status();
    let v: Value = resp.json().map_err(|e| format!("{method} {url}: answer is not JSON ({e})"))?;
    if !status.is_success() {
        return Err(format!("{method} {url}: HTTP {status}: {}", v["value"]));
    }
    Ok(v["value"].clone())
}

impl Session {
    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{}", self.driver.base, self.id, path)
    }

    fn get(&self, path: &str) -> Result<Value, String> {
        call(&self.driver.http, reqwest::Method::GET, &self.url(path), None)
    }

    fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        call(&self.driver.http, reqwest::Method::POST, &self.url(path), Some(body))
    }

    pub fn find_all(&self, css: &str) -> Vec<Element> {
        match self.post("/elements", json!({"using": "css selector", "value": css})) {
            Ok(Value::Array(items)) => items
                .iter()
                .filter_map(|e| e[ELEMENT_KEY].as_str().map(|s| Element(s.to_owned())))
                .collect(),
            _ => vec![],
        }
    }

    pub fn find(&self, css: &str) -> Option<Element> {
        self.find_all(css).into_iter().next()
    }

    /// Waits (up to `limit`) for an element matching `css`.
    pub fn wait(&self, css: &str, limit: Duration) -> Element {
        self.wait_until(limit, || self.find(css)).unwrap_or_else(|| {
            panic!("no `{css}` within {limit:?}; page text:\n{}", self.page_text())
        })
    }

    /// Polls `f` until it returns `Some` or `limit` passes ([`crate::wait_for`]).
    pub fn wait_until<T>(&self, limit: Duration, f: impl FnMut() -> Option<T>) -> Option<T> {
        crate::wait_for(limit, f)
    }

    pub fn click(&self, e: &Element) {
        self.post(&format!("/element/{}/click", e.0), json!({}))
            .unwrap_or_else(|err| panic!("click: {err}"));
    }

    /// Clicks a button whose answer closes its own window (the consent window's): the driver
    /// may then report "no such window" for a click that did land. The caller checks the
    /// click's effect.
    pub fn click_closing(&self, e: &Element) {
        match self.post(&format!("/element/{}/click", e.0), json!({})) {
            Err(err) if !err.contains("no such window") => panic!("click: {err}"),
            _ => {}
        }
    }

    /// Clicks `e`, which ends the app: whatever the driver answers (the app went away under
    /// the click) is not a failure; the caller checks that it ended.
    pub fn click_ending_the_app(&self, e: &Element) {
        let _ = self.post(&format!("/element/{}/click", e.0), json!({}));
    }

    /// Waits for `css`, then clicks it.
    pub fn click_on(&self, css: &str, limit: Duration) {
        let e = self.wait(css, limit);
        self.click(&e);
    }

    pub fn text(&self, e: &Element) -> String {
        self.get(&format!("/element/{}/text", e.0))
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn attribute(&self, e: &Element, name: &str) -> Option<String> {
        self.get(&format!("/element/{}/attribute/{name}", e.0))
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
    }

    pub fn is_enabled(&self, e: &Element) -> bool {
        self.get(&format!("/element/{}/enabled", e.0))
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    pub fn type_into(&self, e: &Element, text: &str) {
        self.post(&format!("/element/{}/value", e.0), json!({"text": text}))
            .unwrap_or_else(|err| panic!("type: {err}"));
    }

    /// The visible text of the whole page (for failure messages).
    pub fn page_text(&self) -> String {
        self.find("body").map(|b| self.text(&b)).unwrap_or_default()
    }

    /// Keys sent to whatever has focus (W3C actions).
    pub fn press(&self, key: &str) {
        self.try_press(&[key]).unwrap_or_else(|err| panic!("keys: {err}"));
    }

    /// Presses and releases `keys` one after the other, in one action sequence (no round
    /// trip between them). W3C key values: `"\u{E007}"` is Enter, `"\u{E00C}"` Escape.
    pub fn try_press(&self, keys: &[&str]) -> Result<(), String> {
        let strokes: Vec<Value> = keys
            .iter()
            .flat_map(|k| {
                [json!({"type": "keyDown", "value": k}), json!({"type": "keyUp", "value": k})]
            })
            .collect();
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": strokes}]});
        self.post("/actions", actions).map(drop)
    }

    pub fn window_handles(&self) -> Vec<String> {
        match self.get("/window/handles") {
            Ok(Value::Array(items)) => {
                items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
            }
            _ => vec![],
        }
    }

    pub fn window_handle(&self) -> Option<String> {
        self.get("/window").ok().and_then(|v| v.as_str().map(str::to_owned))
    }

    pub fn switch_to(&self, handle: &str) -> Result<(), String> {
        self.post("/window", json!({"handle": handle})).map(|_| ())
    }

    pub fn title(&self) -> String {
        self.get("/title").ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }

    /// Runs `script` in the page and returns its value.
    pub fn execute(&self, script: &str) -> Value {
        self.try_execute(script).unwrap_or_else(|err| panic!("script: {err}"))
    }

    /// [`Session::execute`], or the driver's error.
    pub fn try_execute(&self, script: &str) -> Result<Value, String> {
        self.post("/execute/sync", json!({"script": script, "args": []}))
    }

    /// The current window's position and size on the screen: (x, y, width, height).
    pub fn window_rect(&self) -> Option<(i64, i64, i64, i64)> {
        let v = self.get("/window/rect").ok()?;
        Some((v["x"].as_i64()?, v["y"].as_i64()?, v["width"].as_i64()?, v["height"].as_i64()?))
    }

    pub fn set_window_size(&self, width: i64, height: i64) {
        let _ = self.post("/window/rect", json!({"width": width, "height": height}));
    }

    /// A PNG of the current window through WebDriver. (Under Xvfb WebKitWebDriver's
    /// snapshots often never answer; `App::screenshot` grabs the X screen instead.)
    pub fn screenshot(&self, path: &Path) -> Result<(), String> {
        let b64 = self.get("/screenshot")?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .map_err(|e| e.to_string())?;
        std::fs::write(path, png).map_err(|e| e.to_string())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = call(&self.driver.http, reqwest::Method::DELETE, &self.url(""), None);
    }
}
