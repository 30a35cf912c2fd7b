//! The web console in a real headless Chromium.

mod common;
mod webdriver;

use webdriver::Browser;

/// The harness itself: the sign-in page loads, is styled from the binary, and a screenshot
/// can be taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_page_loads_in_chromium() {
    let app = common::spawn().await;
    let web = app.web_url();
    let browser = Browser::start().await;
    browser
        .run("sign-in-page", async |b| {
            b.step("open the sign-in page").await;
            b.goto(&format!("{web}/sign-in")).await?;
            anyhow::ensure!(b.text("h1").await? == "Sign in");
            b.find("input[name=csrf]").await?;
            let png = b.client.screenshot().await?;
            anyhow::ensure!(png.starts_with(b"\x89PNG"), "not a PNG screenshot");
            Ok(())
        })
        .await;
    app.stop().await;
}
