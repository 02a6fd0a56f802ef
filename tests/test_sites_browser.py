"""The Sites page in a real Chromium: the map, 设为外拓点 on a zone card, the calendar, zh and en.

Screenshots go to ``tests/artifacts/`` (sites_zh.png, sites_calendar_zh.png, sites_en.png).
"""

from __future__ import annotations

from pathlib import Path

from _browser import chromium, drawn_map, needs_chromium
from test_app_browser import app_url, home  # noqa: F401 (module-scoped fixtures: the demo and the app)

pytestmark = needs_chromium

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def _idle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=180_000)


def _map_frame(page):
    return drawn_map(page, 0, per_try_ms=30_000)


def test_sites_page_card_action_calendar_in_both_languages(app_url, home):  # noqa: F811
    from playwright.sync_api import expect

    from territory.i18n import t
    from territory.inputs import store

    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 1300})
        try:
            page.goto(app_url, wait_until="domcontentloaded")
            _idle(page)
            nav = page.locator('[data-testid="stSidebarNav"]')
            nav.get_by_text(t("ui.nav.sites", "zh"), exact=True).click()
            _idle(page)
            main = page.locator('[data-testid="stMainBlockContainer"]')
            main.get_by_text(t("ui.sites.title", "zh"), exact=True).wait_for(timeout=60_000)
            frame = _map_frame(page)
            # Site markers stand on their spots; every reason list names the spot.
            assert main.get_by_text("设点：").count() >= 1
            page.screenshot(path=str(ARTIFACTS / "sites_zh.png"), full_page=True)

            # A zone's card on the map: 设为外拓点 makes it one of my sites.
            box = page.locator(IFRAME).first.bounding_box()
            for dx, dy in ((-160, 120), (-200, -150), (150, 200), (220, -60)):
                page.mouse.click(
                    box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy
                )
                try:
                    frame.wait_for_selector(".territory-card-title", timeout=5_000)
                    break
                except Exception:
                    continue
            title = frame.locator(".territory-card-title").first.inner_text().strip()
            button = frame.locator("button.territory-action").first
            assert button.inner_text().strip() == t("maps.action.set_site", "zh")
            button.click()
            chosen = page.locator('[data-testid="stMultiSelect"]').first
            expect(chosen).to_contain_text(title, timeout=120_000)
            _idle(page)
            saved = store.read_ui_settings(home / "demo")
            assert saved.get("chosen_sites"), saved
            zone = saved["chosen_sites"][-1]
            # The site list marks it as mine (· 我选的).
            expect(main).to_contain_text(f"· {t('ui.sites.by_user', 'zh')}", timeout=60_000)

            # The calendar: three outreach days.
            slider = page.locator('[data-testid="stSlider"]').filter(
                has_text=t("ui.sites.weeks", "zh")
            )
            slider.get_by_role("slider").focus()
            page.keyboard.press("ArrowRight")
            page.keyboard.press("ArrowRight")
            _idle(page)
            main.get_by_text(t("ui.sites.calendar", "zh"), exact=True).wait_for(timeout=90_000)
            _idle(page)
            main.get_by_text(t("ui.sites.calendar", "zh"), exact=True).scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "sites_calendar_zh.png"), full_page=True)

            # English.
            page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
            _idle(page)
            main.get_by_text(t("ui.sites.title", "en"), exact=True).wait_for(timeout=90_000)
            _map_frame(page)
            main.get_by_text(t("ui.sites.calendar", "en"), exact=True).wait_for(timeout=90_000)
            expect(main).to_contain_text(f"· {t('ui.sites.by_user', 'en')}", timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "sites_en.png"), full_page=True)
            assert zone
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "sites_failure.png"), full_page=True)
            raise
        finally:
            page.close()
