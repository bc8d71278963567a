"""`make audit`: Lighthouse (mobile preset) on the portal's key pages against Debian's chromium.

Starts the portal on a fresh SQLite database with the demo supplier, signs in with httpx to get
session cookies, runs the npm lighthouse package (installed into bench/lighthouse/node_modules)
on each page with the cookie as an extra header, prints the four scores per page and keeps each
report as JSON under var/lighthouse/. Not part of the test suite or CI: scores depend on the
machine. Targets (issue 6): performance ≥ 95, accessibility 100, best practices 100, SEO ≥ 90.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = ROOT / "var" / "lighthouse"
LIGHTHOUSE = HERE / "node_modules" / ".bin" / "lighthouse"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 90}
PASSWORD = "demo1234"  # portal.demo.DEMO_PASSWORD
DEALER = "d02buyer"  # has a demo order
APPROVER = "manager"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_portal(var_dir: Path, port: int) -> subprocess.Popen:
    env = dict(
        os.environ,
        PORTAL_DATABASE_URL=f"sqlite:///{var_dir / 'audit.sqlite3'}",
        PORTAL_VAR_DIR=str(var_dir),
        PORTAL_HOST="127.0.0.1",
        PORTAL_PORT=str(port),
        PORTAL_WORKERS="1",
    )
    env.pop("PORTAL_SECRET_KEY", None)
    for command in ("migrate", "demo"):
        subprocess.run(
            [sys.executable, "-m", "portal", command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    log = open(var_dir / "server.log", "w")  # noqa: SIM115 - the process owns it until the end
    proc = subprocess.Popen(
        [sys.executable, "-m", "portal", "serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the portal exited:\n{(var_dir / 'server.log').read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit("the portal did not become ready")


def signed_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    page = client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF field on /login"
    answer = client.post(
        "/login", data={"login": username, "password": PASSWORD, "_csrf_token": token.group(1)}
    )
    if answer.status_code != 303:
        raise SystemExit(f"signing in as {username} failed: {answer.status_code}")
    return client


def cookie_header(client: httpx.Client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def csrf(client: httpx.Client) -> str:
    return client.cookies.get("csrftoken") or ""


def dealer_pages(client: httpx.Client) -> dict[str, str]:
    """Catalog, a product, the cart with a line in it, and an order of the dealer."""
    catalog = client.get("/catalog").text
    product = re.search(r'href="(/products/\d+)"', catalog)
    sku = re.search(r'action="/catalog/qty/(\d+)"', catalog)
    assert product and sku, "no products in the demo catalog"
    form = {"qty": "24", "step": "set", "_csrf_token": csrf(client)}
    added = client.post(f"/catalog/qty/{sku.group(1)}", data=form)
    if added.status_code >= 400:
        print(f"(could not put a line in the cart: {added.status_code})")
    orders = client.get("/orders").text
    order = re.search(r'href="(/orders/\d+)"', orders)
    pages = {"catalog": "/catalog", "product": product.group(1), "cart": "/cart"}
    if order:
        pages["order"] = order.group(1)
    return pages


def lighthouse(url: str, name: str, cookie: str | None) -> dict[str, int]:
    report = OUT / f"{name}.json"
    args = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={report}",
        "--quiet",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    if cookie:
        args.append(f"--extra-headers={json.dumps({'Cookie': cookie})}")
    subprocess.run(args, check=True, env=dict(os.environ, CHROME_PATH=CHROME))
    data = json.loads(report.read_text())
    failed = [
        audit["id"]
        for audit in data["audits"].values()
        if audit.get("score") is not None
        and audit["score"] < 1
        and audit.get("scoreDisplayMode") in ("binary", "numeric")
        and any(
            audit["id"] == ref["id"]
            for cat in data["categories"].values()
            for ref in cat["auditRefs"]
            if ref.get("weight")
        )
    ]
    scores = {c: round((data["categories"][c]["score"] or 0) * 100) for c in CATEGORIES}
    scores["_failed"] = failed  # type: ignore[assignment]
    return scores


def main() -> int:
    if not LIGHTHOUSE.exists():
        print("lighthouse is not installed: cd bench/lighthouse && npm install", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    var_dir = Path(tempfile.mkdtemp(prefix="portal-audit-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_portal(var_dir, port)
    try:
        dealer = signed_in(base, DEALER)
        approver = signed_in(base, APPROVER)
        runs: list[tuple[str, str, str | None]] = [("login", "/login", None)]
        runs += [(name, path, cookie_header(dealer)) for name, path in dealer_pages(dealer).items()]
        if approver.get("/approvals").status_code == 200:
            runs.append(("approvals", "/approvals", cookie_header(approver)))
        else:
            print("(no approvals inbox in this build: skipped)")
        results = {}
        for name, path, cookie in runs:
            print(f"lighthouse {path} ...", flush=True)
            results[name] = lighthouse(base + path, name, cookie)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(var_dir, ignore_errors=True)

    print(f"\n{'page':<10} " + " ".join(f"{c:>15}" for c in CATEGORIES))
    short = True
    for name, scores in results.items():
        cells = []
        for c in CATEGORIES:
            ok = scores[c] >= TARGETS[c]
            short = short and ok
            cells.append(f"{scores[c]:>14}{' ' if ok else '!'}")
        print(f"{name:<10} " + " ".join(cells))
    for name, scores in results.items():
        if scores["_failed"]:
            print(f"  {name}: audits below full marks: {', '.join(scores['_failed'])}")
    print(f"\nJSON reports in {OUT.relative_to(ROOT)}/ ('!' = under the issue-6 target)")
    return 0 if short else 1


if __name__ == "__main__":
    sys.exit(main())
