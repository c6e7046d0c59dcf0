"""Publisher sources: news pages (trafilatura, then our cleaner), URLs fetched over a loopback
server with its faults, Markdown through markdown-it, and `sync` from a source feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import feedparser
import pytest

from readaloud.episode import EpisodeRecord
from readaloud.errors import InputError
from readaloud.pipeline import article_text, prepare
from tests.conftest import DATA, run_cli
from tests.page_server import PageServer, Reply

PAGES = DATA / "pages"
ESPEAK = ("--engine", "espeak")
# what a reader of each page sees as its metadata (written from the pages, not from our output)
CORPUS: dict[str, tuple[str, str | None, str | None, str | None]] = {
    "city-news": (
        "城市书房延长开放时间 读者可预约座位",
        "江城日报记者 王晓明",
        "2026-11-27T08:30:00+08:00",
        "https://news.example.cn/local/2026/11/28/shufang.html",
    ),
    "pinyin-report": (
        "苏州河滨步道全线贯通 沿线增设无障碍设施",
        "江南晚报记者 陈思远",
        "2026-11-20T09:15:00+08:00",
        "https://www.jiangnan.example.com/city/20261120/buDao.html",
    ),
    "gbk-county": ("县城老旧小区加装电梯提速 今年已完工六十部", "滨海日报记者 刘建国", "2026-11-25", None),
    "title-only": ("全市启动冬季供暖检查 确保居民温暖过冬", None, None, None),  # only <title> to go by
    "graph-byline": (
        "高铁新站下月启用，公交接驳线路同步开通",
        "本报记者 赵磊",
        "2026-11-26T18:05:00+08:00",
        "https://www.beifang.example.org/jiaotong/88213.html",
    ),
}
FURNITURE = [
    "首页",
    "登录",
    "广告",
    "相关",
    "评论",
    "分享",
    "责任编辑",
    "版权",
    "打印",
    "原标题",
    "热门",
    "ICP",
]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_news_page_gives_the_article_its_metadata_and_nothing_else(name: str) -> None:
    title, credit, date, url = CORPUS[name]
    article = prepare(PAGES / f"{name}.html")
    assert article.title == title  # the headline, not <title> with the site's name
    assert article.credit == credit
    assert article.date == date if date is None else (article.date or "").startswith(date)
    assert article.url == url
    text = article_text(article)
    assert text == (PAGES / f"{name}.expected.txt").read_text(encoding="utf-8")
    for word in FURNITURE:
        assert word not in text.replace(title, ""), word


def test_login_wall_is_one_clear_error() -> None:
    with pytest.raises(InputError, match="no article text"):
        prepare(PAGES / "login-wall.html")


def test_markdown_goes_through_a_real_parser(tmp_path: Path) -> None:
    source = tmp_path / "note.md"
    source.write_text(
        "# 图书馆*冬季*开放时间\n\n"
        "自12月1日起，[市图书馆](https://lib.example.cn)开放时间调整为**上午九点**到晚上八点。\n"
        "周一闭馆。\n\n"
        "## 注意事项\n\n"
        "- 借书请带好读者证。\n"
        "- 还书可以使用`自助还书机`。\n\n"
        "> 咨询电话：12345。\n\n"
        "```\nprint('这段代码不该被读出来')\n```\n",
        encoding="utf-8",
    )
    article = prepare(source)
    assert article.title == "图书馆冬季开放时间"
    text = article_text(article)
    assert "[" not in text and "*" not in text and "`" not in text and "https" not in text
    assert "开放时间调整为上午九点到晚上八点。周一闭馆。" in text
    assert "## 注意事项" in text and "借书请带好读者证。" in text and "咨询电话：12345。" in text
    assert "print" not in text


@pytest.fixture
def site() -> PageServer:
    with PageServer() as server:
        for name in CORPUS:
            data = (PAGES / f"{name}.html").read_bytes()
            # the GBK page says its encoding only in its <meta>, as such sites do
            kind = "text/html" if name == "gbk-county" else "text/html; charset=utf-8"
            server.routes[f"/{name}.html"] = Reply(body=data, content_type=kind)
        server.routes["/login.html"] = Reply(body=(PAGES / "login-wall.html").read_bytes())
        yield server


def _records(root: Path) -> list[EpisodeRecord]:
    return [EpisodeRecord.load(p.parent) for p in sorted(root.glob("*/episode.json"))]


def test_url_convert_puts_page_metadata_into_the_feed(site: PageServer, tmp_path: Path) -> None:
    root = tmp_path / "out"
    done = run_cli(
        "convert", f"{site.url}/gbk-county.html", f"{site.url}/city-news.html", "-o", str(root), *ESPEAK
    )
    assert done.returncode == 0, done.stderr
    records = {r.title: r for r in _records(root)}
    city = records["城市书房延长开放时间 读者可预约座位"]
    assert city.credit == "江城日报记者 王晓明"
    assert city.published.startswith("2026-11-27T08:30:00")
    assert city.link == "https://news.example.cn/local/2026/11/28/shufang.html"
    assert city.slug.isascii() and "shou-ye" not in city.slug
    gbk = records["县城老旧小区加装电梯提速 今年已完工六十部"]
    assert "电梯" in (root / gbk.slug / gbk.text).read_text(encoding="utf-8")  # decoded from GBK
    assert gbk.link == f"{site.url}/gbk-county.html"  # no canonical: the address it was fetched from
    feed = feedparser.parse((root / "feed.xml").read_bytes())
    assert not feed.bozo
    items = {e.title: e for e in feed.entries}
    assert items[city.title].link == city.link
    assert items[city.title].published_parsed[:3] == (2026, 11, 27)
    assert any(a.startswith("readaloud/") for a in site.agents)  # a clear User-Agent
    # nothing fetched lands in the published folder
    assert not [p for p in root.rglob("*.html") if "daisy" not in p.parts]


def test_refetch_of_the_same_url_updates_the_same_episode(site: PageServer, tmp_path: Path) -> None:
    root = tmp_path / "out"
    url = f"{site.url}/city-news.html"
    assert run_cli("convert", url, "-o", str(root), *ESPEAK, "-q").returncode == 0
    first = _records(root)
    page = (PAGES / "city-news.html").read_text(encoding="utf-8")
    site.routes["/city-news.html"] = Reply(
        body=page.replace("周末全天开放", "周末早九点到晚九点开放").encode("utf-8")
    )
    again = run_cli("convert", url, "-o", str(root), *ESPEAK, "-q")
    assert again.returncode == 0, again.stderr
    second = _records(root)
    assert len(first) == len(second) == 1
    assert (first[0].slug, first[0].guid) == (second[0].slug, second[0].guid)
    assert "早九点到晚九点" in (root / second[0].slug / second[0].text).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("path", "reply", "message"),
    [
        ("/missing.html", None, "answered 404"),
        ("/broken.html", Reply(500, b"oops"), "answered 500"),
        ("/slow.html", Reply(body=b"<p>late</p>", delay=3.0), "did not answer within 1 s"),
        ("/loop-a", Reply(302, headers={"Location": "/loop-b"}), "redirects more than 5 times"),
        (
            "/paper.pdf",
            Reply(body=b"%PDF-1.7\n" + b"0" * 5000, content_type="application/pdf"),
            "application/pdf",
        ),
        ("/huge.html", "stream", "more than 10 MB"),
        ("/login.html", "login", "no article text"),
    ],
)
def test_url_faults_are_one_line_and_the_batch_goes_on(
    site: PageServer, tmp_path: Path, path: str, reply: Reply | str | None, message: str
) -> None:
    if reply == "stream":
        sent = [0]

        def blocks() -> bytes:  # 20 MB of page, no Content-Length: the cap must hold while streaming
            if sent[0] >= 20 * 1024 * 1024:
                return b""
            sent[0] += 65536
            return b"<p>" + "很长的页面".encode() * 13000 + b"</p>"

        site.routes[path] = Reply(stream=blocks)
    elif isinstance(reply, Reply):
        site.routes[path] = reply
    site.routes["/loop-b"] = Reply(302, headers={"Location": "/loop-a"})
    root = tmp_path / "out"
    done = run_cli(
        "convert",
        f"{site.url}{path}",
        f"{site.url}/city-news.html",
        "-o",
        str(root),
        *ESPEAK,
        "--fetch-timeout",
        "1",
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0] and path in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    assert [r.title for r in _records(root)] == [
        "城市书房延长开放时间 读者可预约座位"
    ]  # the other input went on


def test_only_http_and_https(site: PageServer, tmp_path: Path) -> None:
    done = run_cli(
        "convert", "ftp://example.org/a.html", f"{site.url}/city-news.html", "-o", str(tmp_path), *ESPEAK
    )
    assert done.returncode == 1
    assert "only http:// and https://" in done.stderr and "Traceback" not in done.stderr
    assert len(_records(tmp_path)) == 1  # the other input was converted


def _feed(entries: list[tuple[str, str, datetime, str | None]]) -> bytes:
    """An RSS 2.0 source feed: (title, link, date, full content or None)."""
    items = []
    for title, link, date, content in entries:
        body = f"<content:encoded><![CDATA[{content}]]></content:encoded>" if content else ""
        items.append(
            f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{format_datetime(date)}</pubDate><description>摘要</description>{body}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        "<title>江城新闻</title><link>https://news.example.cn/</link><description>本地新闻</description>"
        + "".join(reversed(items))  # newest first, as sites publish them
        + "</channel></rss>"
    ).encode("utf-8")


FULL_TEXT = (
    "<p>市气象台今天发布寒潮蓝色预警，预计未来三天气温将下降八到十度，最低气温可达零下五度。"
    "气象部门提醒市民及时添加衣物，注意防寒保暖，老人和儿童尽量减少外出。</p>"
    "<h2>交通出行提示</h2><p>受降温影响，部分路段可能出现道路结冰，驾车出行请减速慢行，保持安全车距。"
    "公交公司表示，将视天气情况增加早晚高峰的发车班次，方便市民出行。</p>"
    "<p>农业部门提醒种植户做好大棚蔬菜的保温措施，防止冻害造成损失。</p>"
)


def test_sync_converts_new_entries_once_and_retries_failures(site: PageServer, tmp_path: Path) -> None:
    root = tmp_path / "out"
    source = tmp_path / "source.xml"
    day = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    entries = [
        ("书房", f"{site.url}/city-news.html", day, None),
        ("步道", f"{site.url}/pinyin-report.html", day.replace(day=21), None),
        ("寒潮", "https://news.example.cn/weather/cold.html", day.replace(day=22), FULL_TEXT),
    ]
    source.write_bytes(_feed(entries))
    first = run_cli("sync", str(source), "-o", str(root), *ESPEAK, "-q")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "" and first.stderr == ""  # --quiet: silence when all is well
    records = _records(root)
    assert len(records) == 3
    cold = next(r for r in records if "寒潮" in r.title)
    assert cold.link == "https://news.example.cn/weather/cold.html"  # from content:encoded, never fetched
    assert cold.published.startswith("2026-11-22")
    assert site.hits["/city-news.html"] == 1 and site.hits["/pinyin-report.html"] == 1
    feed = feedparser.parse((root / "feed.xml").read_bytes())
    assert len(feed.entries) == 3

    again = run_cli("sync", str(source), "-o", str(root), *ESPEAK)
    assert again.returncode == 0 and "nothing new" in again.stdout
    assert site.hits["/city-news.html"] == 1  # nothing fetched again

    # a fourth entry whose page is gone, and a fifth that works
    entries += [
        ("消失", f"{site.url}/gone.html", day.replace(day=23), None),
        ("电梯", f"{site.url}/gbk-county.html", day.replace(day=24), None),
    ]
    source.write_bytes(_feed(entries))
    third = run_cli("sync", str(source), "-o", str(root), *ESPEAK, "-q")
    assert third.returncode == 1
    assert "gone.html" in third.stderr and "404" in third.stderr and "Traceback" not in third.stderr
    assert len(_records(root)) == 4  # the failing entry did not block the one after it
    assert len(feedparser.parse((root / "feed.xml").read_bytes()).entries) == 4

    site.routes["/gone.html"] = Reply(body=(PAGES / "graph-byline.html").read_bytes())
    fourth = run_cli("sync", str(source), "-o", str(root), *ESPEAK, "-q")
    assert fourth.returncode == 0, fourth.stderr
    assert len(_records(root)) == 5  # retried, converted
    assert site.hits["/gone.html"] == 2


def test_sync_limit_takes_the_oldest_first(site: PageServer, tmp_path: Path) -> None:
    root = tmp_path / "out"
    source = tmp_path / "source.xml"
    day = datetime(2026, 11, 20, tzinfo=UTC)
    source.write_bytes(
        _feed(
            [
                ("书房", f"{site.url}/city-news.html", day, None),
                ("步道", f"{site.url}/pinyin-report.html", day.replace(day=25), None),
            ]
        )
    )
    done = run_cli("sync", str(source), "-o", str(root), *ESPEAK, "--limit", "1", "-q")
    assert done.returncode == 0, done.stderr
    assert [r.title for r in _records(root)] == ["城市书房延长开放时间 读者可预约座位"]


def test_sync_from_a_feed_url_and_bad_sources(site: PageServer, tmp_path: Path) -> None:
    root = tmp_path / "out"
    site.routes["/rss.xml"] = Reply(  # a relative link resolves against the feed's address
        body=_feed([("书房", "/city-news.html", datetime(2026, 11, 20, tzinfo=UTC), None)]),
        content_type="application/rss+xml",
    )
    done = run_cli("sync", f"{site.url}/rss.xml", "-o", str(root), *ESPEAK, "-q")
    assert done.returncode == 0, done.stderr
    assert len(_records(root)) == 1
    missing = run_cli("sync", f"{site.url}/nope.xml", "-o", str(root), *ESPEAK)
    assert missing.returncode == 1 and "404" in missing.stderr and "Traceback" not in missing.stderr
    page = run_cli("sync", f"{site.url}/city-news.html", "-o", str(root), *ESPEAK)
    assert page.returncode == 1 and "not a feed" in page.stderr


def test_fetched_pages_and_state_stay_out_of_the_output(site: PageServer, tmp_path: Path) -> None:
    root = tmp_path / "out"
    source = tmp_path / "source.xml"
    source.write_bytes(
        _feed(
            [
                (
                    "寒潮",
                    "https://news.example.cn/weather/cold.html",
                    datetime(2026, 11, 22, tzinfo=UTC),
                    FULL_TEXT,
                )
            ]
        )
    )
    assert run_cli("sync", str(source), "-o", str(root), *ESPEAK, "-q").returncode == 0
    published = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    hidden = [p for p in published if any(part.startswith(".") for part in p.split("/"))]
    assert hidden == [], hidden
    assert not [p for p in published if p.endswith(".html")]
    record = json.loads(next(root.glob("*/episode.json")).read_text(encoding="utf-8"))
    assert record["link"] == "https://news.example.cn/weather/cold.html"


def test_clean_and_outline_preview_a_url(site: PageServer) -> None:
    cleaned = run_cli("clean", f"{site.url}/pinyin-report.html")
    assert cleaned.returncode == 0, cleaned.stderr
    assert "休息点，配备饮水机" in cleaned.stdout and "(xiūxidiǎn)" not in cleaned.stdout
    assert "广告" not in cleaned.stdout and "相关推荐" not in cleaned.stdout
    outline = run_cli("outline", f"{site.url}/graph-byline.html", "--json")
    assert outline.returncode == 0, outline.stderr
    shown = json.loads(outline.stdout)
    assert shown["title"] == "高铁新站下月启用，公交接驳线路同步开通"
    assert [s["heading"] for s in shown["sections"]][1:] == ["六条公交线路接驳", "无障碍服务提前预约"]
    gone = run_cli("clean", f"{site.url}/nope.html")
    assert gone.returncode == 1 and "404" in gone.stderr and "Traceback" not in gone.stderr


def test_an_overlapping_sync_steps_aside(site: PageServer, tmp_path: Path) -> None:
    """cron starts the next run while one still works: the second does nothing and says so (exit 3)."""
    import fcntl

    root = tmp_path / "out"
    source = tmp_path / "source.xml"
    source.write_bytes(
        _feed([("书房", f"{site.url}/city-news.html", datetime(2026, 11, 20, tzinfo=UTC), None)])
    )
    lock = tmp_path / ".out.readaloud" / "sync.lock"  # beside the published folder, like the work folders
    lock.parent.mkdir()
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a sync in progress
        busy = run_cli("sync", str(source), "-o", str(root), *ESPEAK, "-q")
    assert busy.returncode == 3
    assert "another sync" in busy.stderr and "Traceback" not in busy.stderr
    assert site.hits["/city-news.html"] == 0 and _records(root) == []
    free = run_cli("sync", str(source), "-o", str(root), *ESPEAK, "-q")
    assert free.returncode == 0, free.stderr
    assert len(_records(root)) == 1
