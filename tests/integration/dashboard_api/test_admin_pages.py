"""The admin pages in a real Chromium against the API: an admin creates a district
operator and a recipient (quiet hours included), edits and disables the recipient, is
told plainly when a number is not a Korean mobile; other roles never see the pages."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.browser import Browser, Page, fill_and_submit, sign_in
from tests.integration.dashboard_api.conftest import PASSWORDS, ApiStack

STRONG = "kettle-orbit-7-lantern"

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists(),
    reason="needs Chromium",
)


@pytest.fixture
def browser() -> Iterator[Browser]:
    tmp = Path(tempfile.mkdtemp(prefix="cp-admin-"))
    b = Browser(tmp / "profile")
    try:
        yield b
    finally:
        b.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _sign_in(page: Page, user: str) -> None:
    sign_in(page, user, PASSWORDS[user], "document.getElementById('logout').hidden === false", 10)


def _row(recipient_name: str) -> str:
    return (
        "[...document.querySelectorAll('#admin-recipients tr[data-recipient-id]')]"
        f".find((tr) => tr.cells[0].textContent === {recipient_name!r})"
    )


def test_an_admin_manages_accounts_and_recipients_in_the_page(
    api_stack: ApiStack, browser: Browser
) -> None:
    page = browser.open(api_stack.base)
    assert page.js("document.getElementById('admin-toggle').hidden") is True  # signed out
    _sign_in(page, "admin")
    page.wait("!document.getElementById('admin-toggle').hidden", 10, "the admin button")
    page.js("document.getElementById('admin-toggle').click(); true")
    page.wait(
        "document.querySelector('#admin-accounts tr[data-username=\"admin\"]')", 10, "accounts"
    )

    # A district office's operator.
    fill_and_submit(page, 'form[data-form="new-account"]', {
        "username": "jongno.op", "display_name": "종로 운영", "password": STRONG,
        "role": "operator", "agency": "district", "districts": "종로구",
    })  # fmt: skip
    page.wait("document.querySelector('tr[data-username=\"jongno.op\"]')", 10, "the new account")
    assert "종로구" in page.js(
        "document.querySelector('tr[data-username=\"jongno.op\"]').textContent"
    )

    # A recipient with quiet hours across midnight; then a bad number is refused plainly.
    page.js("document.querySelector('[data-tab=\"recipients\"]').click(); true")
    page.wait("!document.getElementById('admin-recipients').hidden", 5, "the recipients tab")
    fill_and_submit(page, 'form[data-form="new-recipient"]', {
        "name": "중구 야간", "phone": "010-5551-2411", "tier": "2", "districts": "중구",
        "quiet_from": "22:00", "quiet_until": "07:00",
    })  # fmt: skip
    page.wait(_row("중구 야간"), 10, "the new recipient")
    text = page.js(f"{_row('중구 야간')}.textContent")
    assert "+821055512411" in text and "22:00–07:00" in text
    fill_and_submit(
        page, 'form[data-form="new-recipient"]', {"name": "유선", "phone": "02-123-4567"}
    )
    page.wait("document.getElementById('admin-msg').className === 'error'", 10, "the refusal")
    assert "Korean mobile" in page.js("document.getElementById('admin-msg').textContent")

    # Edit (tier 3, quiet hours cleared), then disable.
    page.js(f"{_row('중구 야간')}.querySelector('[data-action=\"edit\"]').click(); true")
    page.wait("document.querySelector('form[data-form=\"edit-recipient\"]')", 5, "the edit form")
    fill_and_submit(
        page, 'form[data-form="edit-recipient"]', {"tier": "3", "quiet_from": "", "quiet_until": ""}
    )
    page.wait(f"{_row('중구 야간')}.cells[2].textContent === '3'", 10, "the edit")
    page.js(f"{_row('중구 야간')}.querySelector('[data-action=\"disable\"]').click(); true")
    page.wait(f"{_row('중구 야간')}.className === 'off'", 10, "the recipient disabled")

    admin = api_stack.auth("admin")
    stored = httpx.get(f"{api_stack.base}/api/v1/recipients", headers=admin, timeout=10).json()
    mine = next(r for r in stored if r["name"] == "중구 야간")
    assert (mine["tier"], mine["quiet_from"], mine["active"]) == (3, None, False)
    account = next(
        u
        for u in httpx.get(f"{api_stack.base}/api/v1/users", headers=admin, timeout=10).json()
        if u["username"] == "jongno.op"
    )
    assert (account["role"], account["agency"], account["districts"]) == (
        "operator", "district", ["종로구"],
    )  # fmt: skip

    # Signed out, and as an operator: no admin pages.
    page.js("document.getElementById('logout').click(); true")
    page.wait("document.getElementById('admin-panel').hidden", 5, "the panel closed")
    assert page.js("document.getElementById('admin-toggle').hidden") is True
    _sign_in(page, "operator")
    assert page.js("document.getElementById('admin-toggle').hidden") is True
    assert page.js("document.getElementById('admin-panel').childElementCount") == 0
