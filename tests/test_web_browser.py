"""The review page in a real browser: the server as `groundhog review --web` starts it, headless Chromium
driven by Selenium, real keys. Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them).

Set GROUNDHOG_WEB_SCREENSHOT=docs/review-web.png to refresh the README's screenshot.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_support import fill, fill_realistic, hostile_text, judgements, services, state

from testkit.fakes import HashEmbedder

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = os.environ.get("GROUNDHOG_WEB_SCREENSHOT")  # read now: the home fixture clears GROUNDHOG_*
# Offline and quiet: no first-run pages, no background connections (refused here, many at a time).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, DRIVER) if not p.exists()]
    if missing:
        pytest.skip(f"no {' or '.join(missing)}: apt-get install chromium chromium-driver (.ci/run does)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(str(DRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def serve(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The page as `groundhog review --web --port 0` serves it (the CLI's own wiring), on a thread."""
    from groundhog.commands.web import prepare

    monkeypatch.setattr("groundhog.memory.embeddings.build_embedder", lambda settings: HashEmbedder())
    served = prepare(home, host="127.0.0.1", port=0)
    thread = threading.Thread(target=served.run, name="review-page", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not served.server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the review page did not start"
        time.sleep(0.05)
    try:
        yield served
    finally:
        served.stop()
        thread.join(20)
        assert not thread.is_alive(), "the review page did not stop"


@pytest.fixture
def hostile(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fill(isolated_home, idea_text=hostile_text)
    yield from serve(isolated_home, monkeypatch)


@pytest.fixture
def realistic(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fill_realistic(isolated_home)
    yield from serve(isolated_home, monkeypatch)


def shown(driver: Any) -> str | None:
    """The id of the idea on screen (None while a page loads)."""
    return driver.execute_script("var m = document.querySelector('main#idea'); return m && m.dataset.id;")


def press(driver: Any, key: str, expect: Any) -> None:
    """Press one key, as a person would, and wait until `expect(driver)` holds."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import WebDriverWait

    ActionChains(driver).send_keys(key).perform()
    WebDriverWait(driver, 15).until(lambda d: _quiet(expect, d), f"after pressing {key!r}")


def _quiet(expect: Any, driver: Any) -> bool:
    from selenium.common.exceptions import JavascriptException, StaleElementReferenceException

    try:
        return bool(expect(driver))
    except (StaleElementReferenceException, JavascriptException):
        return False  # the page was being replaced


def no_script_ran(driver: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018


def screenshot(driver: Any, url: str, home: Path) -> None:
    from selenium.webdriver.common.by import By

    svc = services(home)
    try:
        cited = next(i for i in svc.queue.list() if i.idea.day == 2 and i.idea.builds_on)
    finally:
        svc.close()
    driver.set_window_size(1400, 1500)
    driver.get(f"{url}?id={cited.id}")
    press(driver, "p", lambda d: d.find_element(By.ID, "provenance").get_attribute("open") is not None)
    driver.execute_script("window.scrollTo(0, 0)")
    assert driver.save_screenshot(str(SCREENSHOT))
    driver.back()


def test_keys_decide_undo_and_move_with_hostile_titles_shown_as_text(
    hostile: Any, browser: Any, isolated_home: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    rows, _ = state(isolated_home)
    ids = [r["id"] for r in rows]
    assert len(ids) == 4 and rows[0]["title"].startswith("<script>")
    browser.get(hostile.url)
    assert shown(browser) == ids[0]
    title = browser.find_element(By.CSS_SELECTOR, "main#idea .title").text
    assert title == rows[0]["title"]  # the markup is the text on screen, not elements
    assert browser.find_elements(By.CSS_SELECTOR, "main#idea img, #list img, main#idea b") == []
    no_script_ran(browser)

    press(browser, "a", lambda d: shown(d) == ids[1])
    press(browser, "r", lambda d: shown(d) == ids[2])
    rows_now, said = state(isolated_home)
    assert [r["status"] for r in rows_now] == ["accepted", "rejected", "pending", "pending"]
    assert set(said) == {ids[0], ids[1]}
    press(browser, "u", lambda d: shown(d) == ids[1])
    assert "is pending again" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    press(browser, "j", lambda d: shown(d) == ids[2])
    no_script_ran(browser)

    after, said = state(isolated_home)
    assert {r["id"]: r["status"] for r in after} == {
        ids[0]: "accepted",
        ids[1]: "pending",
        ids[2]: "pending",
        ids[3]: "pending",
    }
    assert list(said) == [ids[0]] and said[ids[0]].startswith("Reviewer ACCEPTED your idea '<script>")
    press(browser, "?", lambda d: d.find_element(By.ID, "help").is_displayed())
    press(browser, Keys.ESCAPE, lambda d: not d.find_element(By.ID, "help").is_displayed())
    shot = tmp_path / "review.png"
    assert browser.save_screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_note_provenance_and_compare_with_the_keyboard(realistic: Any, browser: Any, isolated_home: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    ids = [r["id"] for r in state(isolated_home)[0]]
    browser.get(realistic.url)
    press(browser, "n", lambda d: d.switch_to.active_element.get_attribute("id") == "note")
    browser.switch_to.active_element.send_keys("run it on two probe families")  # keys type while in the field
    assert shown(browser) == ids[0]
    press(browser, Keys.ESCAPE, lambda d: d.switch_to.active_element.tag_name == "body")
    press(browser, "d", lambda d: shown(d) == ids[1])
    rows, said = state(isolated_home)
    first = next(r for r in rows if r["id"] == ids[0])
    assert (first["status"], first["note"]) == ("deferred", "run it on two probe families")
    assert "run it on two probe families" in said[ids[0]]

    press(browser, "p", lambda d: d.find_element(By.ID, "provenance").get_attribute("open") is not None)
    panel = browser.find_element(By.ID, "provenance").text
    assert "Wake-up context" in panel and "The day's notebook" in panel and "Versions and the critiques" in panel
    if SCREENSHOT:  # a day-2 idea that cites its notebook, with the provenance panel open
        screenshot(browser, realistic.url, isolated_home)

    press(browser, "c", lambda d: d.execute_script("return document.body.dataset.page") == "compare")
    pair = browser.find_element(By.ID, "compare")
    a, b = pair.get_attribute("data-a"), pair.get_attribute("data-b")
    press(browser, "2", lambda d: "the right one is better" in d.find_element(By.CSS_SELECTOR, ".flash").text)
    (saved,) = judgements(isolated_home)
    assert (saved.idea_a, saved.idea_b, saved.winner) == (a, b, "b")
    press(browser, Keys.ESCAPE, lambda d: d.execute_script("return document.body.dataset.page") == "review")
    no_script_ran(browser)
