//! Browser test: headless Chromium (Debian's `chromium`, or $HOLDFAST_CHROMIUM) driven over the Chrome
//! DevTools Protocol on a websocket. Logs in, loads every page on simulated data, checks each chart was
//! drawn with data (ECharts series non-empty and pixels on the canvas), clicks a tile through to the ledger
//! rows behind it and checks they add up to the tile, and saves screenshots under `target/screenshots/`.
mod common;

use base64::Engine as _;
use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

struct Browser {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    fn launch() -> Browser {
        let exe = std::env::var("HOLDFAST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(&exe)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--remote-debugging-port=0", "--window-size=1400,1000", "--hide-scrollbars"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {exe} ({e}); install Chromium (`apt-get install -y chromium`) or set HOLDFAST_CHROMIUM"));
        // Chromium announces its DevTools endpoint on stderr
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let browser_ws = rx.recv_timeout(Duration::from_secs(60)).expect("Chromium did not announce its DevTools endpoint");
        let port: u16 = browser_ws.split(':').nth(2).unwrap().split('/').next().unwrap().parse().unwrap();
        let addr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let page_ws = loop {
            let list = request(addr, "GET", "/json/list", &[], b"").json();
            if let Some(u) = list.as_array().unwrap().iter().find(|t| t["type"] == "page").and_then(|t| t["webSocketDebuggerUrl"].as_str()) {
                break u.to_string();
            }
            assert!(Instant::now() < deadline, "no page target");
            std::thread::sleep(Duration::from_millis(100));
        };
        let (ws, _) = tungstenite::connect(page_ws.as_str()).unwrap();
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        }
        let mut b = Browser { child, ws, next_id: 0, _profile: profile };
        b.call("Page.enable", json!({}));
        b
    }

    /// Sends one CDP command and returns its result (events in between are skipped).
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.try_call(method, params).unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    fn try_call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        self.ws.send(Message::Text(json!({"id": id, "method": method, "params": params}).to_string().into())).unwrap();
        loop {
            let msg = self.ws.read().unwrap();
            let Message::Text(t) = msg else { continue };
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["id"] == id {
                return match v.get("error") {
                    Some(e) => Err(e.to_string()),
                    None => Ok(v["result"].clone()),
                };
            }
        }
    }

    fn eval(&mut self, js: &str) -> Value {
        let r = self.call("Runtime.evaluate", json!({"expression": js, "returnByValue": true, "awaitPromise": true}));
        assert!(r.get("exceptionDetails").is_none(), "{js}: {}", r["exceptionDetails"]);
        r["result"]["value"].clone()
    }

    /// Waits until `js` is true (evaluations failing while a page is replaced count as "not yet").
    fn wait_for(&mut self, js: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let expr = json!({"expression": format!("!!({js})"), "returnByValue": true});
        while !self.try_call("Runtime.evaluate", expr.clone()).map(|r| r["result"]["value"] == json!(true)).unwrap_or(false) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        self.wait_for(&format!("location.href === {} && document.readyState === 'complete'", json!(url)), url);
    }

    fn screenshot(&mut self, name: &str) {
        eprintln!("[{:>6.1} s] {name}", START.get_or_init(Instant::now).elapsed().as_secs_f64());
        let r = self.call("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": true}));
        let png = base64::engine::general_purpose::STANDARD.decode(r["data"].as_str().unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let dir = screenshots_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("screenshots")
}

/// Per chart on the page: data points of each series and painted pixels of its canvas.
const CHART_CHECK: &str = r#"(() => {
  return (window.holdfastCharts || []).map(c => {
    const series = c.getOption().series.map(s => (s.data || []).filter(d => d !== null && d !== undefined && (typeof d !== 'object' || d.value !== null)).length);
    const cv = c.getDom().querySelector('canvas');
    const ctx = cv.getContext('2d');
    const px = ctx.getImageData(0, 0, cv.width, cv.height).data;
    let painted = 0;
    for (let i = 3; i < px.length; i += 4 * 7) if (px[i] !== 0) painted++;
    return { id: c.getDom().id, series, painted };
  });
})()"#;

fn check_charts(b: &mut Browser, page: &str, expected: usize) {
    b.wait_for(&format!("window.holdfastCharts && window.holdfastCharts.length === {expected}"), &format!("{expected} charts on {page}"));
    // ECharts paints on the next animation frames
    std::thread::sleep(Duration::from_millis(1500));
    let charts = b.eval(CHART_CHECK);
    for c in charts.as_array().unwrap() {
        let series = c["series"].as_array().unwrap();
        assert!(!series.is_empty(), "{page} {}: no series", c["id"]);
        assert!(series.iter().any(|n| n.as_u64().unwrap() > 0), "{page} {}: series without data {series:?}", c["id"]);
        assert!(c["painted"].as_u64().unwrap() > 100, "{page} {}: canvas is empty", c["id"]);
    }
}

#[test]
fn dashboard_in_headless_chromium() {
    START.get_or_init(Instant::now);
    let fx = store(300, 18);
    holdfast_server::auth::create_user(&server_db(&fx.db), "admin", "browser-test-pw", holdfast_server::auth::Role::Admin).unwrap();
    let srv = start(config(&fx.db));
    let base = srv.url();
    let mut b = Browser::launch();
    eprintln!("[{:>6.1} s] chromium up", START.get().unwrap().elapsed().as_secs_f64());

    // log in through the form
    b.goto(&format!("{base}/login"));
    b.screenshot("login");
    b.eval("document.querySelector('input[name=username]').value = 'admin'; document.querySelector('input[name=password]').value = 'browser-test-pw'; document.querySelector('form.login').submit(); true");
    b.wait_for(&format!("location.href === '{base}/' && document.readyState === 'complete'"), "the overview after login");

    // every page, with its charts drawn with data
    check_charts(&mut b, "overview", 2);
    let tiles = b.eval("document.querySelectorAll('a.tile').length");
    assert_eq!(tiles, json!(8));
    b.screenshot("overview");
    b.goto(&format!("{base}/revenue?segment_by=plan"));
    check_charts(&mut b, "revenue", 4);
    assert!(b.eval("document.querySelectorAll('#kpi-table tbody tr').length").as_u64().unwrap() >= 15);
    b.screenshot("revenue");
    b.goto(&format!("{base}/customers?status=active"));
    let first = b.eval("document.querySelector('#customers-table tbody tr td a').textContent");
    assert!(b.eval("document.querySelectorAll('#customers-table tbody tr').length").as_u64().unwrap() > 10);
    b.screenshot("customers");
    b.goto(&format!("{base}/customers/{}", first.as_str().unwrap()));
    check_charts(&mut b, "customer 360", 1);
    assert!(b.eval("document.querySelectorAll('#timeline tbody tr').length").as_u64().unwrap() >= 1);
    b.screenshot("customer");
    b.goto(&format!("{base}/targets"));
    b.eval("document.querySelector('#new-target input[name=target]').value = '1000'; document.querySelector('#new-target').submit(); true");
    b.wait_for(&format!("location.href === '{base}/targets' && document.querySelectorAll('#targets-table tbody tr').length === 1"), "the new target");
    b.screenshot("targets");

    // click a number through to its rows: the net-new-MRR tile opens that period's movements, which sum to it
    b.goto(&format!("{base}/"));
    let tile_value = b.eval("document.querySelector('a.tile[data-kpi=net_new_mrr] .value').textContent");
    b.eval("document.querySelector('a.tile[data-kpi=net_new_mrr]').click(); true");
    b.wait_for("location.pathname === '/movements' && document.readyState === 'complete'", "the movements behind the tile");
    let rows = b.eval("document.querySelectorAll('#movements-table tbody tr').length").as_u64().unwrap();
    assert!(rows > 1, "the tile's period has movements");
    assert_eq!(b.eval("document.querySelector('#movements-sum').textContent"), tile_value, "the rows add up to the tile");
    b.screenshot("movements");

    // a chart point is a link too: the MRR chart's last point opens the same period's rows
    b.goto(&format!("{base}/"));
    check_charts(&mut b, "overview", 2);
    let link = b.eval("(() => { const d = window.holdfastCharts[0].getOption().series[0].data; return d[d.length - 1].link; })()");
    assert!(link.as_str().unwrap().starts_with("/movements?grain=month&period="), "{link}");
}
