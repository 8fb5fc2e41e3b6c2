#!/usr/bin/env python3
"""Drives Ferry's web app in a real Chromium (Debian's chromium + chromedriver, Selenium from PyPI).

    web_test.py SCENARIO --base URL --token ADMIN_TOKEN --password ADMIN_PASSWORD --work DIR [--file ID ...]

Each scenario prints what it saw and exits 0 when every check holds, 1 (with the reason) when one
does not. Every wait is bounded. Started by Tests/FerryServerTests/WebAppTests.swift.
"""
import argparse
import hashlib
import json
import os
import sys
import time
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print("ok: " + message, flush=True)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def api(args, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(args.base + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + (token or args.token))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
        return json.loads(text) if text else None


def browser(args, downloads):
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("FERRY_TEST_CHROMIUM", "/usr/bin/chromium")
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,900"]:
        options.add_argument(flag)
    options.add_experimental_option("prefs", {
        "download.default_directory": downloads, "download.prompt_for_download": False,
        "safebrowsing.enabled": False,
    })
    service = Service(executable_path=os.environ.get("FERRY_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    try:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    except Exception:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    return driver


def wait(driver, seconds, condition, message):
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.1).until(lambda d: condition(d))
    except TimeoutException:
        fail(f"{message} (waited {seconds} s)")


def text_of(driver, selector):
    """The text of the first match, read in one script (pages re-render; handles would go stale)."""
    return driver.execute_script("return document.querySelector(arguments[0])?.textContent ?? ''", selector)


def sign_in(driver, args, username="admin", password=None):
    driver.get(args.base + "/login?next=/")
    wait(driver, 20, lambda d: d.find_elements(By.ID, "username"), "login form shown")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password or args.password)
    driver.find_element(By.ID, "sign-in").click()
    wait(driver, 20, lambda d: text_of(d, "main h1") == "Files", "file list after sign-in")


def downloaded(directory, name, seconds=120):
    path = os.path.join(directory, name)
    deadline = time.time() + seconds
    while time.time() < deadline:
        if os.path.exists(path) and not os.path.exists(path + ".crdownload"):
            return path
        time.sleep(0.2)
    fail(f"{name} did not arrive in the download folder")


# The manager re-renders its card on every change, so reads and clicks go through one script each
# (no element handle can go stale between finding and using it).
def card_text(driver, file_id):
    return driver.execute_script("return document.getElementById(arguments[0])?.innerText ?? ''", "dl-" + file_id)


def status(driver, file_id):
    return driver.execute_script(
        "return document.querySelector('#dl-' + arguments[0] + ' .status')?.dataset.status ?? null", file_id)


def press(driver, file_id, button):
    clicked = driver.execute_script(
        "const b = document.querySelector('#dl-' + arguments[0] + ' button.' + arguments[1]);"
        "if (b) { b.click(); return true; } return false;", file_id, button)
    check(clicked, f"pressed {button}")


def throttle(driver, bytes_per_second):
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": False, "latency": 5, "downloadThroughput": bytes_per_second, "uploadThroughput": bytes_per_second,
    })


def scenario_login(driver, args):
    driver.get(args.base + "/login")
    wait(driver, 20, lambda d: d.find_elements(By.ID, "username"), "login form shown")
    driver.find_element(By.ID, "username").send_keys("admin")
    driver.find_element(By.ID, "password").send_keys("not the password")
    driver.find_element(By.ID, "sign-in").click()
    wait(driver, 60, lambda d: "Wrong username or password." in text_of(d, "#login-status"),
         "wrong password shows an error")
    check(driver.current_url.endswith("/login"), "still on the login page")
    sign_in(driver, args)
    check("Sign out admin" in text_of(driver, "#nav"), "signed in as admin")
    headers = urllib.request.urlopen(args.base + "/", timeout=10).headers
    check("frame-ancestors 'none'" in headers["Content-Security-Policy"], "strict CSP on pages")
    check(headers["Referrer-Policy"] == "no-referrer", "no Referer leaves the app")


def scenario_front_door(driver, args):
    """No session: every page sends the person to the sign-in page and back after signing in."""
    for page in ["/", "/upload"]:
        # Off the app's pages first (cookies are deleted for the current origin, so still on it): a
        # page still running would see its session go and redirect on its own.
        driver.get(args.base + "/healthz")
        driver.delete_all_cookies()
        driver.get(args.base + page)
        wait(driver, 20, lambda d: d.find_elements(By.ID, "username"), f"{page} without a session shows the sign-in form")
        expected = "/login?next=" + urllib.parse.quote(page, safe="")
        check(driver.current_url.endswith(expected), f"{page} went to {expected} ({driver.current_url})")
        check("Sign in or send" not in text_of(driver, "main"), "no bare API error instead of a form")
        driver.find_element(By.ID, "username").send_keys("admin")
        driver.find_element(By.ID, "password").send_keys(args.password)
        driver.find_element(By.ID, "sign-in").click()
        wait(driver, 20, lambda d: d.current_url == args.base + page, f"back on {page} after signing in")
    wait(driver, 20, lambda d: text_of(d, "main h1") == "Upload a file", "the upload page rendered")


def scenario_sign_in_link(driver, args):
    """The link the first start prints: signed in on the file list, asked for a password, once."""
    # Pasted into a tab already on the sign-in page: only the fragment changes (no page load).
    driver.get(args.base + "/login")
    wait(driver, 20, lambda d: d.find_elements(By.ID, "username"), "login form shown")
    driver.get(args.link)
    wait(driver, 20, lambda d: text_of(d, "main h1") == "Files", "the sign-in link lands on the file list")
    check("#code=" not in driver.current_url, "the code leaves the address bar")
    check("Sign out admin" in text_of(driver, "#nav"), "signed in as admin")
    wait(driver, 10, lambda d: d.find_elements(By.ID, "new-password"), "asked to choose a password")
    check("null" not in driver.find_element(By.TAG_NAME, "body").text, "no 'null' text on the page")
    driver.find_element(By.ID, "new-password").send_keys(args.password)
    driver.find_element(By.ID, "new-password-again").send_keys(args.password)
    driver.find_element(By.ID, "set-password-button").click()
    wait(driver, 20, lambda d: "Password set" in text_of(d, "#set-password"), "the password is set")
    driver.delete_all_cookies()
    driver.get(args.link)
    wait(driver, 20, lambda d: "used already or has expired" in text_of(d, "#login-status"),
         "the link works only once")
    sign_in(driver, args)


def scenario_upload_and_small_download(driver, args):
    sign_in(driver, args)
    payload = os.urandom(300_000)
    source = os.path.join(args.work, "from-page.bin")
    with open(source, "wb") as f:
        f.write(payload)
    driver.get(args.base + "/upload")
    wait(driver, 20, lambda d: "Up to" in text_of(d, ".limits"), "limits explained first")
    driver.find_element(By.CSS_SELECTOR, "input.file-input").send_keys(source)
    wait(driver, 30, lambda d: d.current_url.startswith(args.base + "/files/"), "upload lands on the file page")
    file_id = driver.current_url.rsplit("/", 1)[1]
    driver.get(args.base + "/")
    wait(driver, 20, lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-file="{file_id}"]'), "uploaded file listed")
    link = driver.find_element(By.CSS_SELECTOR, f'a.download-link[data-file="{file_id}"]')
    check(link.get_attribute("href").endswith(f"/d/{file_id}"), "small files use the browser's own download via /d/")
    link.click()
    path = downloaded(args.downloads, "from-page.bin")
    check(sha256(path) == hashlib.sha256(payload).hexdigest(), "small download has the right SHA-256")


def upload_percent(driver):
    text = text_of(driver, ".upload-status")
    try:
        return int(text.split("%")[0].split("— ")[-1])
    except ValueError:
        return 0


def scenario_upload_reload(driver, args):
    """A throttled upload through tus, the page reloaded midway, the same file picked again: it
    continues from where the server stands and the file's SHA-256 is right."""
    sign_in(driver, args)
    payload = os.urandom(48 * 1024 * 1024)
    source = os.path.join(args.work, "resumed-upload.bin")
    with open(source, "wb") as f:
        f.write(payload)
    digest = hashlib.sha256(payload)
    driver.get(args.base + "/upload")
    wait(driver, 20, lambda d: "Up to" in text_of(d, ".limits"), "upload page ready")
    throttle(driver, 4 * 1024 * 1024)
    driver.find_element(By.CSS_SELECTOR, "input.file-input").send_keys(source)
    wait(driver, 60, lambda d: upload_percent(d) >= 30, "the upload gets past 30% before the reload")
    driver.refresh()
    wait(driver, 20, lambda d: "Up to" in text_of(d, ".limits"), "upload page back after the reload")
    throttle(driver, 64 * 1024 * 1024)
    driver.find_element(By.CSS_SELECTOR, "input.file-input").send_keys(source)
    wait(driver, 30, lambda d: "Continuing the interrupted upload from" in text_of(d, ".upload-status"),
         "the picked file continues the interrupted upload")
    wait(driver, 120, lambda d: d.current_url.startswith(args.base + "/files/"), "the upload completes on the file page")
    file_id = driver.current_url.rsplit("/", 1)[1]
    info = api(args, "GET", f"/v1/files/{file_id}")
    check(info["sha256"] == digest.hexdigest(), "the resumed upload has the right SHA-256")
    check(info["name"] == "resumed-upload.bin", "the file has its name")
    files = api(args, "GET", "/v1/files")["files"]
    check(len([f for f in files if f["name"] == "resumed-upload.bin"]) == 1, "one file, not two")


def start_managed(driver, args, file_id):
    driver.get(args.base + f"/files/{file_id}")
    button = wait(driver, 20, lambda d: d.find_elements(By.CSS_SELECTOR, "button.managed-download"),
                  "large files get the download manager")[0]
    button.click()
    wait(driver, 20, lambda d: status(d, file_id) == "running", "the manager starts")


def percent(driver, file_id):
    text = driver.execute_script(
        "return document.querySelector('#dl-' + arguments[0] + ' .progress-text')?.textContent ?? ''", file_id)
    try:
        return int(text.split("%")[0])
    except ValueError:
        return 0


def scenario_manager_expiry(driver, args):
    file_id, name, expected = args.file
    sign_in(driver, args)
    throttle(driver, 6 * 1024 * 1024)
    start_managed(driver, args, file_id)
    seen = []

    def ended(d):
        seen.append(card_text(d, file_id))
        return status(d, file_id) in ("done", "failed")

    wait(driver, 180, ended, "the managed download ends")
    check(not any("null" in text for text in seen), f"no 'null' in the card while it ran ({len(seen)} looks)")
    text = card_text(driver, file_id)
    check(status(driver, file_id) == "done", f"completed through expiring links: {text!r}")
    check("a fresh link was issued" in text, "the refresh is explained to the user")
    path = downloaded(args.downloads, name)
    check(sha256(path) == expected, "64 MiB through the manager has the right SHA-256")


def scenario_pause_resume(driver, args):
    file_id, name, expected = args.file
    sign_in(driver, args)
    throttle(driver, 8 * 1024 * 1024)
    start_managed(driver, args, file_id)
    wait(driver, 60, lambda d: percent(d, file_id) >= 10, "some progress before the pause")
    press(driver, file_id, "pause")
    wait(driver, 10, lambda d: status(d, file_id) == "paused", "paused")
    time.sleep(3.5)  # the pause itself: longer than the 2 s link lifetime, which is what is tested
    press(driver, file_id, "resume")
    wait(driver, 90, lambda d: "The secure link expired while the download was paused; a fresh link was issued and the download resumed at"
         in card_text(d, file_id), "the refresh after the pause is explained")
    wait(driver, 180, lambda d: status(d, file_id) in ("done", "failed"), "the download ends after resuming")
    check(status(driver, file_id) == "done", f"completed after a pause past expiry: {card_text(driver, file_id)!r}")
    path = downloaded(args.downloads, name)
    check(sha256(path) == expected, "paused and resumed download has the right SHA-256")


def scenario_reload(driver, args):
    file_id, name, expected = args.file
    sign_in(driver, args)
    throttle(driver, 8 * 1024 * 1024)
    start_managed(driver, args, file_id)
    wait(driver, 60, lambda d: percent(d, file_id) >= 20, "progress before the reload")
    driver.refresh()
    throttle(driver, 8 * 1024 * 1024)
    wait(driver, 60, lambda d: "Resumed after a reload at" in text_of(d, f"#dl-{file_id} .note"), "the reload resumes")
    text = text_of(driver, f"#dl-{file_id} .note")
    at = int(text.split("Resumed after a reload at ")[1].split("%")[0])
    check(at >= 20, f"resumed at {at}%, not from zero")
    wait(driver, 180, lambda d: status(d, file_id) in ("done", "failed"), "the download ends after the reload")
    check(status(driver, file_id) == "done", f"completed after a reload: {card_text(driver, file_id)!r}")
    path = downloaded(args.downloads, name)
    check(sha256(path) == expected, "reloaded download has the right SHA-256")


def scenario_revoked(driver, args):
    file_id, name, _ = args.file
    sign_in(driver, args, username="bob", password="bob-password-1")
    throttle(driver, 4 * 1024 * 1024)
    start_managed(driver, args, file_id)
    wait(driver, 60, lambda d: percent(d, file_id) >= 10, "progress before the revocation")
    api(args, "DELETE", f"/v1/files/{file_id}/grants/bob")
    revoked_at = percent(driver, file_id)
    wait(driver, 120, lambda d: status(d, file_id) in ("failed", "done"), "the download ends one way or the other")
    text = card_text(driver, file_id)
    check(status(driver, file_id) == "failed", f"the download stops after the revocation at {revoked_at}%: {text!r}")
    check("Access was removed" in text, f"the reason is shown: {text!r}")
    check(not os.path.exists(os.path.join(args.downloads, name)), "nothing handed over")


def scenario_password_link(driver, args):
    """A password link made on the file page, opened by a recipient without a session: the page
    asks, a wrong password is refused on the page, the right one starts the download, and a ranged
    request of the browser's own (as its resume sends) needs no password again (the cookie)."""
    file_id, name, expected = args.file
    sign_in(driver, args)
    driver.get(args.base + f"/files/{file_id}")
    wait(driver, 20, lambda d: d.find_elements(By.ID, "link-password"), "the link form offers a password")
    driver.find_element(By.ID, "link-password").send_keys("open sesame 42")
    driver.find_element(By.CSS_SELECTOR, "form.inline button[type=submit]").click()
    wait(driver, 20, lambda d: "/t/" in text_of(d, "#link-url"), "the link is shown once")
    url = text_of(driver, "#link-url").strip()
    wait(driver, 20, lambda d: "yes" in [c.strip() for c in d.execute_script(
        "return [...document.querySelectorAll('tbody tr td:nth-child(4)')].map(t => t.textContent)")],
        "the links list says the link has a password")
    driver.delete_all_cookies()
    throttle(driver, 8 * 1024 * 1024)
    driver.get(url)
    wait(driver, 20, lambda d: text_of(d, "main h1") == "This download needs a password", "the password page")
    driver.find_element(By.ID, "password").send_keys("wrong password")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver, 20, lambda d: "The password is wrong" in text_of(d, "#password-error"), "a wrong password is refused")
    driver.find_element(By.ID, "password").send_keys("open sesame 42")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    path = downloaded(args.downloads, name, seconds=180)
    check(sha256(path) == expected, "the password link's download has the right SHA-256")
    # The browser's own resume is a ranged GET of the link with its cookie: no password again.
    result = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {headers: {Range: 'bytes=1000-1999'}, credentials: 'same-origin'})
          .then(async r => done({status: r.status, length: (await r.arrayBuffer()).byteLength}))
          .catch(e => done({status: 0, error: String(e)}));
    """, url)
    check(result.get("status") == 206 and result.get("length") == 1000, f"a ranged resume needs no password: {result}")


def scenario_zip(driver, args):
    """Two files ticked in the list -> "Download as zip" through the manager (paused and resumed
    midway), the zip checked with Python's zipfile; then "Share as zip link" -> the bundle page,
    where a password link is made."""
    big_id, big_name, big_sha = args.file
    small_id, small_name, small_sha = args.second
    sign_in(driver, args)
    wait(driver, 20, lambda d: d.find_elements(By.CSS_SELECTOR, f"tr[data-file='{big_id}'] input.pick"), "files can be ticked")
    for file_id in (big_id, small_id):
        driver.find_element(By.CSS_SELECTOR, f"tr[data-file='{file_id}'] input.pick").click()
    check(text_of(driver, "#picked") == "2 selected", "two files selected")
    throttle(driver, 16 * 1024 * 1024)
    driver.find_element(By.ID, "download-zip").click()
    card = wait(driver, 20, lambda d: d.execute_script(
        "return document.querySelector('#downloads .dl')?.id ?? null"), "the zip appears in the manager")
    zip_key = card[len("dl-"):]
    wait(driver, 60, lambda d: percent(d, zip_key) >= 20, "zip progress before the pause")
    press(driver, zip_key, "pause")
    wait(driver, 10, lambda d: status(d, zip_key) == "paused", "the zip pauses")
    paused_at = percent(driver, zip_key)
    press(driver, zip_key, "resume")
    wait(driver, 180, lambda d: status(d, zip_key) in ("done", "failed"), "the zip download ends")
    check(status(driver, zip_key) == "done", f"the zip completed: {card_text(driver, zip_key)!r}")
    check(percent(driver, zip_key) == 100 and paused_at >= 20, f"resumed from {paused_at}%")
    # The page hands the finished zip to the browser's downloads, which writes it on its own time.
    names = wait(driver, 60, lambda d: [f for f in os.listdir(args.downloads) if f.endswith(".zip")],
                 "the zip reaches the download folder")
    check(len(names) == 1, f"one zip in the downloads: {names}")
    path = downloaded(args.downloads, names[0])
    import zipfile
    with zipfile.ZipFile(path) as z:
        check(z.testzip() is None, "zipfile finds no bad member")
        digests = {info.filename: hashlib.sha256(z.read(info)).hexdigest() for info in z.infolist()}
    check(digests == {big_name: big_sha, small_name: small_sha}, f"the members are the files: {sorted(digests)}")

    driver.get(args.base + "/")
    wait(driver, 20, lambda d: d.find_elements(By.CSS_SELECTOR, f"tr[data-file='{small_id}'] input.pick"), "the list again")
    driver.find_element(By.CSS_SELECTOR, f"tr[data-file='{small_id}'] input.pick").click()
    driver.find_element(By.ID, "share-zip").click()
    wait(driver, 20, lambda d: "/bundles/" in d.current_url and d.find_elements(By.ID, "members"), "the bundle page")
    check(small_name in text_of(driver, "#members"), "the bundle page lists its member")
    driver.find_element(By.ID, "link-password").send_keys("zip link password")
    driver.find_element(By.CSS_SELECTOR, "form.inline button[type=submit]").click()
    wait(driver, 20, lambda d: "/t/" in text_of(d, "#link-url"), "a bundle link is shown once")
    url = text_of(driver, "#link-url").strip()
    request = urllib.request.Request(url)
    request.add_header("Authorization", "Basic " + __import__("base64").b64encode(b":zip link password").decode())
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    check(body[:4] == b"PK\x03\x04", "the bundle link serves the zip with its password")


# The words (runs of letters and digits) of table cells that the layout split across two lines,
# as "Downlo|ad": only cells marked `break` (names, ids, hashes) may do that.
BROKEN_WORDS = """
const broken = [];
for (const cell of document.querySelectorAll('th, td:not(.break)')) {
  const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const word of node.textContent.matchAll(/[\\p{L}\\p{N}]+/gu)) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      if (range.getClientRects().length > 1) broken.push(word[0]);
    }
  }
}
return broken;
"""


def scenario_screenshots(driver, args):
    """Every page at desktop and phone width, saved as PNG artifacts to look at."""
    file_id = args.file[0]
    sign_in(driver, args)
    shots = os.path.join(args.artifacts, "screenshots")
    os.makedirs(shots, exist_ok=True)
    pages = {"files": "/", "file": f"/files/{file_id}", "upload": "/upload", "users": "/admin/users",
             "tokens": "/admin/tokens", "audit": "/admin/audit"}
    for width, label in [(1200, "desktop"), (390, "phone")]:
        driver.set_window_size(width, 900)
        for name, path in pages.items():
            driver.get(args.base + path)
            wait(driver, 20, lambda d: d.find_elements(By.CSS_SELECTOR, "main h1"), f"{name} page rendered")
            overflow = driver.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1")
            check(not overflow, f"{name} fits {width} px without sideways scrolling")
            broken = driver.execute_script(BROKEN_WORDS)
            check(not broken, f"{name} at {width} px splits no word of a table across lines ({broken[:3]})")
            driver.save_screenshot(os.path.join(shots, f"{name}-{label}.png"))
    driver.delete_all_cookies()
    driver.get(args.base + "/login")
    wait(driver, 20, lambda d: d.find_elements(By.ID, "username"), "login page rendered")
    driver.save_screenshot(os.path.join(shots, "login-phone.png"))
    print("screenshots in " + shots, flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario")
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--file", nargs=3, metavar=("ID", "NAME", "SHA256"))
    parser.add_argument("--second", nargs=3, metavar=("ID", "NAME", "SHA256"))
    parser.add_argument("--link", help="the sign-in link `ferry serve` printed (scenario sign_in_link)")
    parser.add_argument("--artifacts", default=os.environ.get("FERRY_TEST_ARTIFACTS", "/tmp/ferry-test-artifacts"))
    args = parser.parse_args()
    args.downloads = os.path.join(args.work, "downloads")
    os.makedirs(args.downloads, exist_ok=True)
    driver = browser(args, args.downloads)
    try:
        globals()["scenario_" + args.scenario](driver, args)
        logs = driver.get_log("browser")
        csp = [entry for entry in logs if "Content Security Policy" in entry.get("message", "")]
        check(not csp, f"no CSP violations ({csp[:1]})")
        # Refused requests the scenario provokes (expired links: 403) are network entries; scripts
        # must log no error at all.
        errors = [entry for entry in logs if entry.get("level") == "SEVERE" and entry.get("source") != "network"]
        check(not errors, f"no console errors ({errors[:2]})")
    finally:
        driver.quit()
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
