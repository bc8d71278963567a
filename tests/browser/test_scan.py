"""Barcode scanning on the catalog search: shown only where the browser has BarcodeDetector;
a scanned code fills the search box and searches.

Linux Chromium has no BarcodeDetector, so one test sees the button stay hidden, and the other
gives the page a stand-in detector and camera (a canvas stream) to follow the whole flow.
"""

from __future__ import annotations

from portal.demo import DEMO_PASSWORD
from tests.browser.conftest import sign_in
from tests.browser.test_dealer_orders import easy_sku, htmx_settled

DEALER = "d04buyer"

FAKE_DETECTOR = """
(() => {
  const code = %r;
  window.BarcodeDetector = class {
    static async getSupportedFormats() { return ["ean_13", "code_128"]; }
    constructor(options) { this.options = options; }
    async detect(source) { return source.readyState >= 2 ? [{ rawValue: code }] : []; }
  };
  navigator.mediaDevices.getUserMedia = async () => {
    const canvas = document.createElement("canvas");
    canvas.width = 64; canvas.height = 48;
    const ctx = canvas.getContext("2d");
    setInterval(() => { ctx.fillStyle = "#" + Math.floor(Math.random() * 4095).toString(16);
                        ctx.fillRect(0, 0, 64, 48); }, 50);
    return canvas.captureStream(10);
  };
})();
"""


async def test_no_scan_button_without_barcode_detector(phone):
    page = phone
    await sign_in(page, DEALER, DEMO_PASSWORD)
    await page.goto("/catalog")
    assert not await page.evaluate("'BarcodeDetector' in window")
    assert await page.locator("#scan-btn").is_hidden()
    assert not page.console_errors, page.console_errors


async def test_a_scanned_code_searches_the_catalog(phone):
    page = phone
    sku = easy_sku(2)
    await page.add_init_script(FAKE_DETECTOR % sku["barcode"])
    await sign_in(page, DEALER, DEMO_PASSWORD)
    await page.goto("/catalog")
    scan = page.locator("#scan-btn")
    await scan.wait_for(state="visible")
    box = await scan.bounding_box()
    assert box and box["width"] >= 44 and box["height"] >= 44, box
    async with page.expect_response(lambda r: "/catalog?" in r.url and r.ok):
        await scan.click()
    await htmx_settled(page)
    assert await page.locator("#q").input_value() == sku["barcode"]
    assert not await page.locator("#scan-dialog").get_attribute("open")
    codes = await page.locator("li.sku-row .code").all_inner_texts()
    assert codes == [sku["code"]], codes
    assert not page.console_errors, page.console_errors
