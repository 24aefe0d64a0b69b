"""A synthetic finews site for benchmarks: the real templates, made-up text.

The template mix and sizes follow the real site (see ../shared/corpus/README.md):
short Eastmoney digest posts with a source link and return links (T1–T5),
long 2022-style Eastmoney HTML posts with stock widgets, K-line images and
hidden paragraphs (T6), newspaper posts (T7/T8), a few site notices, and
about 1% broken files. The Chinese text is drawn from the sentences of the
project's own sample posts, so no real post is copied. Deterministic for a
seed.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from pathlib import Path

from news_etl.settings import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "data" / "sample_posts"

#: (template, share of posts) — close to the site in 2022, when T6 and newspapers dominate.
MIX = [
    ("T1", 0.10),
    ("T2", 0.10),
    ("T3", 0.04),
    ("T4", 0.05),
    ("T5", 0.16),
    ("T6", 0.40),
    ("T7", 0.12),
    ("T8", 0.01),
    ("T0", 0.01),
    ("broken", 0.01),
]
NEWSPAPERS = [
    ("cailianshe", "财联社"),
    ("zhongguoshangbao", "中国商报"),
    ("quanshangzhongguo", "券商中国"),
    ("shanghaizhengquanbao", "上海证券报"),
    ("meirijingjixinwen", "每日经济新闻"),
    ("zhengquanshibao", "证券时报"),
    ("zhongguozhengquanbao", "中国证券报"),
]
CREDITS = ["证券时报", "上海证券报", "中国证券报", "财联社", "券商中国", "每日经济新闻", "澎湃新闻", "央视新闻"]
STOCKS = [("0.002752", "测试股份"), ("1.600001", "样例银行"), ("0.300999", "演示科技"), ("1.601888", "模拟证券")]


def _sentences() -> list[str]:
    text: list[str] = []
    for path in sorted(SAMPLE.glob("*.md")):
        body = path.read_text(encoding="utf-8", errors="replace").split("---", 2)[-1]
        body = re.sub(r"<[^>]+>|\[[^\]]*\]\([^)]*\)|&\w+;", "", body)
        text.extend(s.lstrip("> ") for s in re.findall(r"[^。！？\n]{8,120}[。！？]", body) if "http" not in s)
    return sorted(set(text)) or ["测试公司发布公告称，预计全年营业收入同比增长15%。"]


class SiteGenerator:
    def __init__(self, seed: int = 7, varied: float = 0.0) -> None:
        self.rng = random.Random(seed)
        #: share of the Chinese characters of each text replaced by random ones (0.15: no two
        #: texts alike, and a vocabulary that grows with the site, as real news brings new names)
        self.varied = varied
        self.sentences = _sentences()
        self.start = datetime(2022, 1, 1, 8, 0, 0)
        templates, weights = zip(*MIX, strict=False)
        self.templates, self.weights = list(templates), list(weights)

    def _text(self, lo: int, hi: int) -> str:
        text = "".join(self.rng.choice(self.sentences) for _ in range(self.rng.randint(lo, hi)))
        if not self.varied:
            return text
        chars, rng = list(text), self.rng
        for at in rng.sample(range(len(chars)), int(len(chars) * self.varied)):
            if "\u4e00" <= chars[at] <= "\u9fa5":
                chars[at] = chr(0x4E00 + rng.randrange(0x51A6))  # any common CJK ideograph
        return "".join(chars)

    def _stock_html(self) -> str:
        code, name = self.rng.choice(STOCKS)
        return (
            f'<span id="stock_{code}"><a href="http://quote.eastmoney.com/unify/r/{code}" class="keytip" '
            f'data-code="{code.replace(".", ",")}">{name}</a></span><span id="quote_{code}"></span>'
        )

    def post(self, i: int) -> tuple[str, bytes]:
        """The i-th post: (file name, bytes)."""
        rng = self.rng
        kind = rng.choices(self.templates, self.weights)[0]
        when = self.start + timedelta(minutes=3 * i + rng.randint(0, 2))
        day = when.strftime("%Y-%m-%d")
        ident = when.strftime("%Y%m%d") + f"{i:010d}"
        stamp = when.strftime("%Y-%m-%d %H:%M:%S")
        title = self._text(1, 1)[:28].rstrip("。！？")
        if kind == "broken":
            choice = rng.randrange(4)
            raw = [
                b"",
                "没有前言的正文。".encode(),
                f'---\ntitle: "坏"引号"\ndate: {stamp}\n---\n正文。'.encode(),
                f'---\ntitle: "{title}"\ndate: 2022-13-45 99:99\n---\n正文。'.encode(),
            ][choice]
            return f"-{ident}.md" if choice == 3 else f"{day}-{ident}.md", raw
        if kind == "T0":
            return f"{day}-notice{i}.md", (
                f'---\nlayout: post\ntitle: "{title}"\ndate: {stamp}\n'
                f"categories: sitenews\ntags: 站长消息\n---\n\n{self._text(1, 2)}"
            ).encode()
        if kind in ("T7", "T8"):
            cat, name = NEWSPAPERS[0 if kind == "T8" else rng.randrange(len(NEWSPAPERS))]
            if kind == "T8":
                cat, name = "zhongguoshangbao", "中国商报"
            paras = [f"<p>{self._text(1, 4)}</p>" for _ in range(rng.randint(4, 24))]
            if kind == "T8":
                paras.insert(0, "<p>本报记者 张测试</p>")
            body = "".join(paras) + f'<p class="em_media">（文章来源：{name}）</p>'
            fm = f'---\nlayout: post\ntitle: "{title}"\ndate: {stamp} +0800\ncategories: {cat}\ntags: {name}新闻\n---\n'
            return f"{day}-NW{ident}.md", (
                fm + body + f"\n\n<http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW{ident}>\n\n"
                f"[返回{name}新闻](//finews.withounder.com/category/{cat}.html)｜[返回首页](//finews.withounder.com/)"
            ).encode()
        fm = f'---\nlayout: post\ntitle: "{title}"\ndate: {stamp}{" +0800" if kind in ("T5", "T6") else ""}\ncategories: emnews\ntags: 东财滚动新闻\n---\n'
        url = f"<http://finance.eastmoney.com/a/{ident}.html>"
        if kind == "T6":
            parts = ['<p style="display:none;height:1px;overflow:hidden;"><br /></p>']
            if rng.random() < 0.5:
                code = rng.choice(STOCKS)[0]
                parts.append(
                    f'<!-- EM_StockImg_Start --><p style="text-align:center;"><a href="http://quote.eastmoney.com/unify/r/{code}" '
                    f'class="EmImageRemark" target="_blank"><img src="https://webquoteklinepic.eastmoney.com/GetPic.aspx?nid={code}&amp;imageType=k" '
                    f'border="0" alt="K图 {code}" width="578" height="276" /></a></p><!-- EM_StockImg_End -->'
                )
            for _ in range(rng.randint(3, 30)):
                text = self._text(1, 4)
                cut = rng.randrange(len(text))
                parts.append(f"<p>{text[:cut]}{self._stock_html() if rng.random() < 0.4 else ''}{text[cut:]}</p>")
            parts.append(f'<p class="em_media">（文章来源：{rng.choice(CREDITS)}）</p>')
            body = f"> {self._text(1, 3)}（{rng.choice(CREDITS)}）\n\n" + "".join(parts) + f"\n\n{url}\n\n"
            body += "[返回东财滚动新闻](//finews.withounder.com/emnews/)｜[返回首页](//finews.withounder.com/)"
            return f"{day}-{ident}.md", (fm + body).encode()
        line = self._text(1, 4) + (f"（{rng.choice(CREDITS)}）" if rng.random() < 0.5 else "")
        links = {
            "T1": "",
            "T2": "\n\n[返回东财滚动新闻](../emnews/)\n[返回首页](../)",
            "T3": "\n\n[返回东财滚动新闻](//finews.zning.me/emnews/)｜[返回首页](//finews.zning.me/)",
            "T4": "\n\n[返回东财滚动新闻](//finews.withounder.com/emnews/)\n[返回首页](//finews.withounder.com/)",
            "T5": "\n\n[返回东财滚动新闻](//finews.withounder.com/emnews/)｜[返回首页](//finews.withounder.com/)",
        }[kind]
        return f"{day}-{ident}.md", (fm + f"\n{line}\n\n{url}{links}").encode()


def generate_site(folder: Path, posts: int, seed: int = 7, start: int = 0, varied: float = 0.0) -> Path:
    """Write ``posts`` synthetic post files into ``folder`` (numbered from ``start``); ``varied``:
    the share of each text's Chinese characters changed at random (:class:`SiteGenerator`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    gen = SiteGenerator(seed + start, varied)
    for i in range(start, start + posts):
        name, raw = gen.post(i)
        (folder / name).write_bytes(raw)
    return folder
