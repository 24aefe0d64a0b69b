"""Which newspaper or feed a post comes from, in Chinese.

The site files each post under one category: ``emnews`` for Eastmoney's
rolling news, ``sitenews`` for the site's own notices, and the pinyin of a
newspaper's name for newspaper feeds (tagged ``<name>新闻``). This is the one
mapping from category to outlet; the tag is the fallback for a category that
is not listed here yet.
"""

from __future__ import annotations

OUTLETS: dict[str, str] = {
    "emnews": "东财滚动新闻",
    "sitenews": "站长消息",
    # newspapers and official feeds (category = pinyin of the name)
    "cailianshe": "财联社",
    "zhongguoshangbao": "中国商报",
    "yangxingwangzhan": "央行网站",  # sic: the site reads 央行 with the wrong 行
    "yanghangwangzhan": "央行网站",
    "shanghaizhengquanbao": "上海证券报",
    "quanshangzhongguo": "券商中国",
    "meirijingjixinwen": "每日经济新闻",
    "zhengquanshibao": "证券时报",
    "zhongguozhengquanbao": "中国证券报",
    "zhengquanribao": "证券日报",
    "jingjicankaobao": "经济参考报",
    "diyicaijingribao": "第一财经日报",
    "ershiyishijijingjibaodao": "21世纪经济报道",
    "jingjiguanchabao": "经济观察报",
    "zhongguojingyingbao": "中国经营报",
    "huaxiashibao": "华夏时报",
    "xinjingbao": "新京报",
    "renminribao": "人民日报",
    "jingjiribao": "经济日报",
    "xinhuashe": "新华社",
    "zhongguojijinbao": "中国基金报",
    "shangwubu": "商务部",
    "zhengjianhui": "证监会",
    "guojiatongjiju": "国家统计局",
    "caixin": "财新",
    "pengpaixinwen": "澎湃新闻",
}

_TAG_SUFFIX = "新闻"


def outlet_for(categories: list[str], tags: list[str]) -> str | None:
    """The outlet's Chinese name for a post's categories and tags.

    The first known category wins; else the first tag without its ``新闻``
    suffix (``中国商报新闻`` → ``中国商报``; ``每日经济新闻新闻`` → ``每日经济新闻``);
    else the first category as it is.
    """
    for category in categories:
        name = OUTLETS.get(category.strip().lower())
        if name:
            return name
    for tag in tags:
        tag = tag.strip()
        if tag.endswith(_TAG_SUFFIX) and len(tag) > len(_TAG_SUFFIX):
            return tag[: -len(_TAG_SUFFIX)]
    return categories[0] if categories else None
