//! A real headless Chromium driven over WebDriver: chromedriver on a free port, a fresh profile
//! per browser, and a screenshot of every page kept so a failing story leaves them under
//! `target/tmp/browser/`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    /// Screenshots of the pages seen so far, by step, written out only if the story fails.
    shots: Vec<(String, Vec<u8>)>,
    step: String,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with the flags a closed network needs.
    pub async fn start() -> Browser {
        for path in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(path).exists(),
                "{path} is missing: the browser tests need Debian's `chromium` and \
                 `chromium-driver` (apt-get install -y chromium chromium-driver; .ci/run does)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let webdriver = format!("http://127.0.0.1:{port}");
        wait_ready(&webdriver).await;

        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&webdriver)
            .await
            .expect("chromium starts under chromedriver");
        Browser {
            client,
            driver,
            _profile: profile,
            shots: Vec::new(),
            step: "start".into(),
        }
    }

    /// Names the step about to run, keeping a screenshot of the page the last one left.
    pub async fn step(&mut self, name: &str) {
        self.snap().await;
        self.step = name.to_string();
    }

    async fn snap(&mut self) {
        if let Ok(png) = self.client.screenshot().await {
            let label = format!("{:02}-{}", self.shots.len() + 1, slug(&self.step));
            self.shots.push((label, png));
        }
    }

    /// Runs a story; if it fails or panics, the screenshots go under `target/tmp/browser/NAME`
    /// and the failure names the step. The browser is closed either way.
    pub async fn run(
        mut self,
        name: &str,
        story: impl AsyncFnOnce(&mut Browser) -> anyhow::Result<()>,
    ) {
        use futures_util::FutureExt;
        let started = Instant::now();
        let outcome = std::panic::AssertUnwindSafe(story(&mut self))
            .catch_unwind()
            .await;
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("{e:#}")),
            Err(panic) => Some(
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into()),
            ),
        };
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("browser")
            .join(name);
        // FIELDGATE_BROWSER_SHOTS=1 keeps them on success too, to look the pages over.
        let keep = failure.is_some() || std::env::var_os("FIELDGATE_BROWSER_SHOTS").is_some();
        if keep {
            self.snap().await;
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            for (label, png) in &self.shots {
                std::fs::write(dir.join(format!("{label}.png")), png).unwrap();
            }
        }
        if let Some(failure) = failure {
            let step = self.step.clone();
            let _ = self.client.clone().close().await;
            panic!(
                "browser story `{name}` failed at step `{step}`: {failure}\n\
                 screenshots of each page: {}",
                dir.display()
            );
        }
        eprintln!(
            "browser story `{name}` passed in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let _ = self.client.clone().close().await;
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client.goto(url).await?;
        Ok(())
    }

    /// Types into the field with this CSS selector, replacing what it held.
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let field = self.find(css).await?;
        field.clear().await?;
        field.send_keys(text).await?;
        Ok(())
    }

    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        self.find(css).await?.click().await?;
        Ok(())
    }

    /// The element with this CSS selector, waiting up to ten seconds for it to appear.
    pub async fn find(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        let found = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .map_err(|e| anyhow::anyhow!("no element `{css}` on the page: {e}"))?;
        Ok(found)
    }

    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        Ok(self.find(css).await?.text().await?.trim().to_string())
    }

    /// Waits up to ten seconds for the element's text to satisfy `ok` (a page replacing one
    /// that had the same element), and returns it.
    pub async fn wait_text(&self, css: &str, ok: impl Fn(&str) -> bool) -> anyhow::Result<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(found) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = found.text().await
                && ok(text.trim())
            {
                return Ok(text.trim().to_string());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "`{css}` never showed the text awaited"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn path(&self) -> anyhow::Result<String> {
        Ok(self.client.current_url().await?.path().to_string())
    }

    /// Waits up to ten seconds for the browser to arrive at `path`.
    pub async fn arrive(&self, path: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.path().await?;
            if now == path {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "expected to be at {path}, still at {now}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

async fn wait_ready(webdriver: &str) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http.get(format!("{webdriver}/status")).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn slug(step: &str) -> String {
    step.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}
