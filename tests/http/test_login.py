from tests import factories as f
from tests.http.conftest import sign_in


async def test_dealer_signs_in_and_sees_home(client):
    d = await f.dealer()
    u = await f.user("dealer_buyer", d, username="buyer1")
    response = await sign_in(client, "buyer1")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    home = await client.get("/")
    assert home.status_code == 200
    assert u["display_name"] in home.text


async def test_wrong_password_is_refused_with_a_message(client):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="buyer2")
    response = await sign_in(client, "buyer2", "wrong")
    assert response.status_code == 401
    assert "密码" in response.text


async def test_pages_redirect_to_login_without_a_session(client):
    response = await client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_signing_in_returns_to_the_page_and_its_search(client):
    from urllib.parse import parse_qs, unquote, urlsplit

    from tests.http.conftest import csrf_from

    d = await f.dealer()
    await f.user("dealer_buyer", d, username="buyer3")
    first = await client.get("/catalog?q=矿泉水&in_stock=1", follow_redirects=False)
    assert first.status_code == 303
    login_url = first.headers["location"]
    nxt = parse_qs(urlsplit(login_url).query)["next"][0]
    assert unquote(nxt) == "/catalog?q=矿泉水&in_stock=1"
    page = await client.get(login_url)
    response = await client.post(
        "/login",
        data={
            "login": "buyer3",
            "password": f.PASSWORD,
            "next": nxt,
            "_csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == nxt


async def test_an_unknown_address_says_so_once_and_keeps_the_tab_bar(client):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="buyer4")
    await sign_in(client, "buyer4")
    page = await client.get("/no-such-page")
    assert page.status_code == 404
    assert "这个地址没有内容，请检查链接。" in page.text
    assert "<h1>未找到。</h1>" in page.text
    # A message that only repeats the heading is left out (it read 未找到。 twice).
    assert "<p>未找到。</p>" not in page.text
    # Never a dead end on a phone: the signed-in user's tab bar stays (the router refuses the
    # address before authentication runs, so the page reads the session itself).
    assert 'href="/catalog"' in page.text and 'class="tabbar' in page.text
    assert '<a class="btn" href="/">' in page.text
    client.cookies.clear()
    client.cookies.set("session", "Bearer not-a-token")  # a forged session is nobody
    anonymous = await client.get("/no-such-page")
    assert anonymous.status_code == 404 and 'href="/catalog"' not in anonymous.text
    # Without a session, the way back ("/") leads to signing in.
    assert '<a class="btn" href="/">' in anonymous.text
    api = await client.get("/api/v1/no-such-endpoint", headers={"Accept-Language": "en"})
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["detail"] == "There is nothing at this address. Check the link."


async def test_a_language_picked_on_the_sign_in_page_is_kept_after_signing_in(client):
    from portal.tables import User
    from tests.http.conftest import csrf_from

    d = await f.dealer()
    u = await f.user("dealer_buyer", d, username="buyer5")
    page = await client.get("/login?lang=en")
    assert "Sign in" in page.text
    assert 'name="locale" value="en"' in page.text
    wrong = await client.post(
        "/login",
        data={
            "login": "buyer5",
            "password": "wrong",
            "locale": "en",
            "_csrf_token": csrf_from(page.text),
        },
    )
    assert wrong.status_code == 401
    assert "Wrong username" in wrong.text
    assert 'name="locale" value="en"' in wrong.text
    response = await client.post(
        "/login",
        data={
            "login": "buyer5",
            "password": f.PASSWORD,
            "locale": "en",
            "_csrf_token": csrf_from(wrong.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    home = await client.get("/")
    assert '<html lang="en">' in home.text
    row = await User.select(User.locale).where(User.id == u["id"]).first()
    assert row["locale"] == "en"


async def test_a_language_picked_then_a_sign_in_page_reached_another_way_keeps_it(client):
    """English picked on the sign-in page; the next sign-in page comes by a redirect (no
    ?lang= in its address): the choice still goes with the form, once."""
    from portal.tables import User
    from tests.http.conftest import csrf_from

    d = await f.dealer()
    u = await f.user("dealer_buyer", d, username="buyer7")
    await client.get("/login?lang=en")
    again = await client.get("/login?next=/orders")
    assert 'name="locale" value="en"' in again.text
    done = await client.post(
        "/login",
        data={
            "login": "buyer7",
            "password": f.PASSWORD,
            "locale": "en",
            "next": "/orders",
            "_csrf_token": csrf_from(again.text),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert (await User.select(User.locale).where(User.id == u["id"]).first())["locale"] == "en"
    assert '<html lang="en">' in (await client.get("/orders")).text
    # Taken: the next person's sign-in page does not carry it.
    client.cookies.delete("flash")
    await client.post("/logout", data={"_csrf_token": csrf_from((await client.get("/me")).text)})
    assert 'name="locale"' not in (await client.get("/login")).text


async def test_signing_in_without_picking_keeps_the_users_own_language(client):
    from portal.tables import User

    d = await f.dealer()
    u = await f.user("dealer_buyer", d, username="buyer6")
    await User.update({User.locale: "zh_Hant"}).where(User.id == u["id"])
    client.cookies.set("lang", "en")  # left by someone else on this phone
    assert (await sign_in(client, "buyer6")).status_code == 303
    home = await client.get("/")
    assert '<html lang="zh-Hant">' in home.text


async def test_an_htmx_tap_after_the_session_ended_loads_the_sign_in_page_whole(client):
    """A tap on + in the catalog after the session ended must not swap the sign-in page into
    the quantity box: htmx is told to go to the sign-in page, and back to the catalog after."""
    from urllib.parse import parse_qs, urlsplit

    from tests.http.conftest import csrf_from

    d = await f.dealer()
    await f.user("dealer_buyer", d, username="buyer7")
    page = await client.get("/login")
    headers = {
        "HX-Request": "true",
        "HX-Current-URL": "http://testserver.local/catalog?q=%E6%B0%B4&in_stock=1",
        "x-csrftoken": csrf_from(page.text),
    }
    tap = await client.post("/catalog/qty/1", data={"qty": "1"}, headers=headers)
    assert tap.status_code == 200, tap.text[:300]
    assert tap.text == ""
    target = urlsplit(tap.headers["hx-redirect"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == ["/catalog?q=%E6%B0%B4&in_stock=1"]
    # A page the browser says it is on, elsewhere, is not followed after signing in.
    headers["HX-Current-URL"] = "https://evil.example//evil.example/x"
    tap = await client.post("/catalog/qty/1", data={"qty": "1"}, headers=headers)
    assert tap.headers["hx-redirect"] == "/login"
    # Without htmx, the plain redirect as before.
    plain = await client.get("/catalog?q=x", follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"].startswith("/login?next=")
    # A history restore wants a whole page: the redirect.
    restore = await client.get(
        "/catalog",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
        follow_redirects=False,
    )
    assert restore.status_code == 303


async def test_pages_are_in_simplified_chinese_until_the_reader_chooses(client):
    """A browser set to en-US (a phone's system language, a headless browser) still gets the
    default language on the pages; a language picked on the sign-in page or under 我的 wins.
    The API follows the client's Accept-Language."""
    en_browser = {"Accept-Language": "en-US,en;q=0.9"}
    login = await client.get("/login", headers=en_browser)
    assert '<html lang="zh-Hans">' in login.text and "登录" in login.text
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="buyer7")
    assert (await sign_in(client, "buyer7")).status_code == 303
    home = await client.get("/", headers=en_browser)
    assert '<html lang="zh-Hans">' in home.text
    picked = await client.get("/login?lang=en", headers=en_browser)
    assert '<html lang="en">' in picked.text
    client.cookies.clear()
    api = await client.get("/api/v1/no-such-endpoint", headers={"Accept-Language": "en"})
    assert api.json()["title"] == "Not found."
