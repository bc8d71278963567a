"""A spend_save promotion's amounts through the API: in yuan (threshold, save: "1000.00"), as
every other amount the API takes, and in fen (threshold_fen, save_fen) as first taken."""

from __future__ import annotations

from portal.tables import Promotion
from tests.http.test_api_auth import EN, assert_problem, bearer
from tests.http.test_promotions import period, shop

SPEND_SAVE = {"name": "满1000减50", "kind": "spend_save"}


async def stored() -> list[tuple[int, int]]:
    rows = await Promotion.select(Promotion.threshold_fen, Promotion.save_fen).order_by(
        Promotion.id
    )
    return [(r["threshold_fen"], r["save_fen"]) for r in rows]


async def test_amounts_in_yuan_or_in_fen(client, db):
    await shop()
    root = {**await bearer(client, "root"), **EN}
    url = "/api/v1/promotions"
    yuan = await client.post(
        url,
        json={**SPEND_SAVE, "threshold": "1000.00", "save": "50", **period()},
        headers=root,
    )
    assert yuan.status_code == 201, yuan.text
    made = yuan.json()
    assert (made["threshold"], made["save"]) == ("1000.00", "50.00")
    assert (made["threshold_fen"], made["save_fen"]) == (100_000, 5_000)
    fen = await client.post(
        url,
        json={**SPEND_SAVE, "threshold_fen": 100_000, "save_fen": 5_000, **period()},
        headers=root,
    )
    assert fen.status_code == 201, fen.text
    # Both ways naming the same amount is fine (a GET's output sent back).
    both = await client.post(
        url,
        json={**SPEND_SAVE, "threshold": "1,000", "threshold_fen": 100_000, "save": "50.00"}
        | period(),
        headers=root,
    )
    assert both.status_code == 201, both.text
    assert await stored() == [(100_000, 5_000)] * 3


async def test_bad_amounts_are_refused_naming_the_fields_sent(client, db):
    await shop()
    root = {**await bearer(client, "root"), **EN}
    url = "/api/v1/promotions"

    async def errors(**amounts: object) -> list[dict]:
        r = await client.post(url, json={**SPEND_SAVE, **amounts, **period()}, headers=root)
        return assert_problem(r, 422, "validation")["errors"]

    # Parsed as every amount of the API is (price_fen): the same message.
    assert await errors(threshold="abc", save="-5") == [
        {"field": "threshold", "message": "Enter an amount such as 1234.50."},
        {"field": "save", "message": "Enter an amount such as 1234.50."},
    ]
    assert await errors(threshold="1.234", save="5") == [
        {"field": "threshold", "message": "Enter an amount such as 1234.50."}
    ]
    assert await errors(threshold="1000000000", save="5") == [
        {"field": "threshold", "message": "The amount is too large."}
    ]
    different = "threshold and threshold_fen are different amounts: send one of them."
    assert await errors(threshold="1000", threshold_fen=1_000, save="5") == [
        {"field": "threshold", "message": different},
        {"field": "threshold_fen", "message": different},
    ]
    # The domain's own checks name the field the body used.
    assert await errors(threshold="100", save="100") == [
        {"field": "save", "message": "The saving must be less than the amount to reach."}
    ]
    assert await errors(threshold_fen=10_000, save_fen=10_000) == [
        {"field": "save_fen", "message": "The saving must be less than the amount to reach."}
    ]
    assert await errors() == [
        {"field": "threshold", "message": "Enter the amount an order must reach."},
        {"field": "save", "message": "Enter the amount saved."},
    ]
    assert await stored() == []


async def test_a_get_s_output_is_taken_back_and_an_amount_changes_in_yuan(client, db):
    await shop()
    root = {**await bearer(client, "root"), **EN}
    made = await client.post(
        "/api/v1/promotions",
        json={**SPEND_SAVE, "threshold": "1000.00", "save": "50.00", **period()},
        headers=root,
    )
    url = f"/api/v1/promotions/{made.json()['id']}"
    got = (await client.get(url, headers=root)).json()
    back = await client.put(url, json=got, headers=root)
    assert back.status_code == 200, back.text
    assert back.json() == got
    # One amount changed in yuan alone; the other kept.
    changed = await client.put(url, json={"threshold": "2000.50"}, headers=root)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["threshold"], changed.json()["threshold_fen"]) == ("2000.50", 200_050)
    assert (changed.json()["save"], changed.json()["save_fen"]) == ("50.00", 5_000)
    # And in fen, as before.
    in_fen = await client.put(url, json={"save_fen": 6_000}, headers=root)
    assert in_fen.status_code == 200, in_fen.text
    assert (in_fen.json()["save"], in_fen.json()["threshold_fen"]) == ("60.00", 200_050)
    # The GET's output with only the yuan changed names two amounts: refused, nothing saved.
    got = (await client.get(url, headers=root)).json()
    stale = await client.put(url, json={**got, "save": "70.00"}, headers=root)
    assert [e["field"] for e in assert_problem(stale, 422, "validation")["errors"]] == [
        "save",
        "save_fen",
    ]
    assert await stored() == [(200_050, 6_000)]
