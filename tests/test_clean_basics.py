"""The cleaner on small hand-made bodies: each rule of the conventions once."""

from __future__ import annotations

from news_etl.ingest.clean import clean_body


def test_digest_url_and_navigation():
    body = clean_body(
        "> 摘要一句。（财联社）\n\n<p>第一段。</p><p>第二段。</p>\n\n"
        "<http://finance.eastmoney.com/a/1.html>\n\n"
        "[返回东财滚动新闻](//finews.withounder.com/emnews/)｜[返回首页](//finews.withounder.com/)"
    )
    assert body.digest == "摘要一句。（财联社）"
    assert body.paragraphs == ["第一段。", "第二段。"]
    assert body.source_url == "http://finance.eastmoney.com/a/1.html"


def test_hidden_comments_scripts_and_kline_blocks_are_gone():
    body = clean_body(
        '<p style="display:none;height:1px;"><br /></p><!-- EM_StockImg_Start -->'
        '<p><a href="x" class="EmImageRemark"><img src="k.png" alt="K图 002752_0"/></a></p>'
        "<!-- EM_StockImg_End --><p>正文<script>alert(1)</script><style>p{}</style>结束。</p>"
    )
    assert body.paragraphs == ["正文结束。"]
    assert (body.images, body.kline_images) == (1, 1)


def test_stock_widgets_keep_their_words_in_the_sentence():
    body = clean_body(
        '<p>中国<span id="bk_90.BK0473"><a href="http://quote/90.BK0473" class="keytip">证券</a></span>'
        '<span id="bkquote_90.BK0473"></span>业协会公布名单。</p>'
    )
    assert body.paragraphs == ["中国证券业协会公布名单。"]
    assert body.links == 1


def test_entities_nbsp_and_fullwidth_indent():
    body = clean_body("<p>\u3000\u3000A&amp;B&nbsp;&nbsp;公司&ldquo;好&rdquo;</p>")
    assert body.paragraphs == ["A&B 公司“好”"]


def test_line_breaks_inside_a_paragraph():
    body = clean_body("<p>第一行<br/>第二行</p><p>line one<br>line two</p>")
    assert body.paragraphs == ["第一行第二行", "line one line two"]


def test_credit_line_and_trailing_attribution():
    assert (
        clean_body('<p>正文。</p><p class="em_media">（文章来源：券商<a href="q">中国</a>）</p>').credit == "券商中国"
    )
    body = clean_body("记者今天了解到，撤回率达93.1%。(央视新闻)")
    assert body.credit == "央视新闻" and body.paragraphs == ["记者今天了解到，撤回率达93.1%。"]
    body = clean_body("来看看都买了哪些股？（附名单）")  # points at a list, names no source: not a credit
    assert body.credit is None and body.paragraphs == ["来看看都买了哪些股？（附名单）"]


def test_byline_is_taken_out():
    body = clean_body("<p>本报记者 张三</p><p>正文第一句。</p>")
    assert body.byline == "本报记者 张三" and body.paragraphs == ["正文第一句。"]


def test_raw_less_than_in_text():
    assert clean_body("占比<1%，较上年下降。").paragraphs == ["占比<1%，较上年下降。"]


def test_empty_autolink_gives_no_source_url():
    assert clean_body("正文。\n\n<>").source_url is None


def test_a_digest_only_post_is_an_article_with_the_digest_as_its_text():
    from news_etl.ingest.transform import transform_post
    from news_etl.model import RawPost

    raw = (
        '---\ntitle: "只有摘要"\ndate: 2026-11-24 10:00:00\ncategories: emnews\n---\n'
        "> 摘要一句。（财联社）\n\n<http://finance.eastmoney.com/a/1.html>"
    ).encode()
    article = transform_post(RawPost("t", "2026-11-24-1.md", raw, "0" * 64))
    assert article.digest == "摘要一句。（财联社）"
    assert article.paragraphs == ["摘要一句。（财联社）"] and article.metrics["chars"] > 0


# What the scraper writes (Markdown) and what Jekyll publishes from it (kramdown's HTML, the feed's
# content): the same article. (tests/test_feed_jekyll.py does this with the real Jekyll on the corpus.)
MARKDOWN = (
    "> 摘要一句。\n\n"
    "<p>第一段。</p>\n<p>第二段。（澎湃新闻）</p>\n\n"
    "<>\n\n"
    "<http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1&a=1>\n\n"
    "[返回东财滚动新闻](//finews.withounder.com/emnews/)｜[返回首页](//finews.withounder.com/)"
)
KRAMDOWN = (
    "<blockquote>\n  <p>摘要一句。</p>\n</blockquote>\n\n"
    "<p>第一段。</p>\n<p>第二段。（澎湃新闻）</p>\n\n"
    "<p>&lt;&gt;</p>\n\n"
    '<p><a href="http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1&amp;a=1">'
    "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1&amp;a=1</a></p>\n\n"
    '<p><a href="//finews.withounder.com/emnews/">返回东财滚动新闻</a>｜<a href="//finews.withounder.com/">返回首页</a></p>'
)


def test_the_sites_lines_in_their_html_form_give_the_same_article():
    md, rendered = clean_body(MARKDOWN), clean_body(KRAMDOWN, html=True)
    assert rendered.digest == md.digest == "摘要一句。"
    assert rendered.paragraphs == md.paragraphs == ["第一段。", "第二段。"]
    assert rendered.credit == md.credit == "澎湃新闻"
    assert rendered.source_url == md.source_url == "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1&a=1"
    assert rendered.links == md.links == 0


def test_a_credit_line_before_the_return_links_in_html_is_the_credit():
    body = clean_body(
        '<p>正文。</p>\n<p class="em_media">（文章来源：财联社）</p>\n'
        '<p><a href="//finews.withounder.com/emnews/">返回东财滚动新闻</a>｜<a href="//finews.withounder.com/">返回首页</a></p>',
        html=True,
    )
    assert body.credit == "财联社" and body.paragraphs == ["正文。"]
