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
