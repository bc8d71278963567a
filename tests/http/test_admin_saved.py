"""An administrator's save says it was done, once, on the page it lands on (the flash a
redirect carries); a page that reads its own flash shows it once, not twice."""

from __future__ import annotations

import re

from tests import factories as f
from tests.http.conftest import csrf_from, sign_in

ZH = {"Accept-Language": "zh-CN"}


def flashed(html: str) -> list[str]:
    box = re.search(r'<div class="alert alert-ok" role="status" id="flash">(.*?)</div>', html)
    return re.findall(r"<p>([^<]*)</p>", box.group(1)) if box else []


async def test_each_admin_save_says_so_once(client, db):
    await f.user("admin", username="root")
    await sign_in(client, "root")
    for path, form, said in (
        ("/admin/categories", {"name": "新品类", "sort": "1"}, "分类已添加。"),
        ("/admin/tiers", {"code": "T9", "name": "九级", "rank": "9"}, "等级已添加。"),
        ("/admin/warehouses", {"code": "WX", "name": "西仓", "priority": "5"}, "仓库已添加。"),
    ):
        page = await client.get(path, headers=ZH)
        assert flashed(page.text) == []
        sent = await client.post(
            path, data={**form, "_csrf_token": csrf_from(page.text)}, headers=ZH
        )
        assert sent.status_code == 200 and str(sent.url).endswith(path), sent.text[:300]
        assert flashed(sent.text) == [said]
        assert sent.text.count(said) == 1
        # Shown once: the next visit is quiet.
        assert flashed((await client.get(path, headers=ZH)).text) == []


async def test_a_bad_save_says_nothing_was_saved_and_no_flash(client, db):
    await f.user("admin", username="root")
    await sign_in(client, "root")
    page = await client.get("/admin/tiers", headers=ZH)
    sent = await client.post(
        "/admin/tiers",
        data={"code": "", "name": "", "rank": "x", "_csrf_token": csrf_from(page.text)},
        headers=ZH,
    )
    assert sent.status_code == 422 and flashed(sent.text) == []
