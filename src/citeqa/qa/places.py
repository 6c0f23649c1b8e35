"""Places a question names (countries, regions, US states), in English and Chinese, and whether a text names them.

A near miss often asks about a place next to one the paper does treat: "where does Vietnam rank" beside a ranking
that lists India, China, Mexico and the US; "how much did Intel's Ohio fab get" beside the CHIPS Act's total. The
answer sentences then never name the place asked about. The list is a general gazetteer (common English and
standard Chinese names of countries, regions and the US states), not words taken from questions; the United States
and China are left out: every passage is about them.
"""

from __future__ import annotations

import re

# English name (lower case) -> standard Chinese name
PLACES: dict[str, str] = {
    # countries and regions
    "mexico": "墨西哥",
    "canada": "加拿大",
    "india": "印度",
    "vietnam": "越南",
    "viet nam": "越南",
    "japan": "日本",
    "korea": "韩国",
    "south korea": "韩国",
    "north korea": "朝鲜",
    "taiwan": "台湾",
    "germany": "德国",
    "france": "法国",
    "italy": "意大利",
    "spain": "西班牙",
    "britain": "英国",
    "uk": "英国",
    "united kingdom": "英国",
    "england": "英国",
    "ireland": "爱尔兰",
    "netherlands": "荷兰",
    "belgium": "比利时",
    "switzerland": "瑞士",
    "sweden": "瑞典",
    "norway": "挪威",
    "finland": "芬兰",
    "denmark": "丹麦",
    "poland": "波兰",
    "austria": "奥地利",
    "russia": "俄罗斯",
    "ukraine": "乌克兰",
    "turkey": "土耳其",
    "israel": "以色列",
    "iran": "伊朗",
    "saudi arabia": "沙特",
    "egypt": "埃及",
    "south africa": "南非",
    "nigeria": "尼日利亚",
    "brazil": "巴西",
    "argentina": "阿根廷",
    "chile": "智利",
    "peru": "秘鲁",
    "colombia": "哥伦比亚",
    "australia": "澳大利亚",
    "new zealand": "新西兰",
    "indonesia": "印度尼西亚",
    "malaysia": "马来西亚",
    "thailand": "泰国",
    "philippines": "菲律宾",
    "singapore": "新加坡",
    "cambodia": "柬埔寨",
    "bangladesh": "孟加拉",
    "pakistan": "巴基斯坦",
    "sri lanka": "斯里兰卡",
    "hong kong": "香港",
    "macau": "澳门",
    "europe": "欧洲",
    "eu": "欧盟",
    "european union": "欧盟",
    "asean": "东盟",
    "africa": "非洲",
    "latin america": "拉美",
    "middle east": "中东",
    # US states (Washington is left out: it stands for the US government far more often)
    "alabama": "亚拉巴马",
    "alaska": "阿拉斯加",
    "arizona": "亚利桑那",
    "arkansas": "阿肯色",
    "california": "加利福尼亚",
    "colorado": "科罗拉多",
    "connecticut": "康涅狄格",
    "delaware": "特拉华",
    "florida": "佛罗里达",
    "hawaii": "夏威夷",
    "idaho": "爱达荷",
    "illinois": "伊利诺伊",
    "indiana": "印第安纳",
    "iowa": "艾奥瓦",
    "kansas": "堪萨斯",
    "kentucky": "肯塔基",
    "louisiana": "路易斯安那",
    "maine": "缅因",
    "maryland": "马里兰",
    "massachusetts": "马萨诸塞",
    "michigan": "密歇根",
    "minnesota": "明尼苏达",
    "mississippi": "密西西比",
    "missouri": "密苏里",
    "montana": "蒙大拿",
    "nebraska": "内布拉斯加",
    "nevada": "内华达",
    "new hampshire": "新罕布什尔",
    "new jersey": "新泽西",
    "new mexico": "新墨西哥",
    "new york": "纽约",
    "north carolina": "北卡罗来纳",
    "north dakota": "北达科他",
    "ohio": "俄亥俄",
    "oklahoma": "俄克拉何马",
    "oregon": "俄勒冈",
    "pennsylvania": "宾夕法尼亚",
    "rhode island": "罗得岛",
    "south carolina": "南卡罗来纳",
    "south dakota": "南达科他",
    "tennessee": "田纳西",
    "texas": "得克萨斯",
    "utah": "犹他",
    "vermont": "佛蒙特",
    "virginia": "弗吉尼亚",
    "west virginia": "西弗吉尼亚",
    "wisconsin": "威斯康星",
    "wyoming": "怀俄明",
}
# other Chinese forms of the same places (the short and the colloquial names)
CHINESE_VARIANTS: dict[str, tuple[str, ...]] = {
    "加利福尼亚": ("加州",), "得克萨斯": ("德克萨斯", "德州"), "沙特": ("沙特阿拉伯",), "亚利桑那": ("亚利桑纳",),
    "印度尼西亚": ("印尼",), "欧盟": ("欧洲联盟",), "韩国": ("南韩",), "拉美": ("拉丁美洲",),
}  # fmt: skip
_ENGLISH_RE = re.compile(
    r"(?<![a-z])(" + "|".join(sorted(map(re.escape, PLACES), key=len, reverse=True)) + r")(?![a-z])"
)


def _forms(chinese: str) -> tuple[str, ...]:
    return (chinese, *CHINESE_VARIANTS.get(chinese, ()))


# every Chinese form, longest first: at one position the longer name wins ("新墨西哥" is not also "墨西哥",
# "印度尼西亚" not also "印度"), while "印度和印度尼西亚" still names both
_CHINESE_OF = {form: chinese for chinese in PLACES.values() for form in _forms(chinese)}
_CHINESE_RE = re.compile("|".join(sorted(map(re.escape, _CHINESE_OF), key=len, reverse=True)))
ENGLISH_OF: dict[str, list[str]] = {}
for _english, _chinese in PLACES.items():
    ENGLISH_OF.setdefault(_chinese, []).append(_english)
# a place's English names as one pattern, compiled once (not per question)
_ENGLISH_NAMED = {
    chinese: re.compile(r"(?<![a-z])(?:" + "|".join(map(re.escape, names)) + r")(?![a-z])")
    for chinese, names in ENGLISH_OF.items()
}
ACRONYMS = {"eu", "uk", "asean"}


def places_in(question: str) -> list[str]:
    """The Chinese names of the places the question names, in order, without repeats."""
    found = [PLACES[m.group(1)] for m in _ENGLISH_RE.finditer(question.lower())]
    found += [_CHINESE_OF[m.group(0)] for m in _CHINESE_RE.finditer(question)]
    return list(dict.fromkeys(found))


def place_name(chinese: str, language: str) -> str:
    """The place as a reply in that language names it ("越南" -> "Vietnam" in English)."""
    if language == "zh":
        return chinese
    english = ENGLISH_OF[chinese][0]
    return english.upper() if english in ACRONYMS else english.title()


def places_missing(question: str, texts: list[str]) -> list[str]:
    """Places the question names (Chinese names) that none of the texts names, in Chinese or in English."""
    joined = " ".join(texts)
    lower = joined.lower()
    return [
        p
        for p in places_in(question)
        if not any(form in joined for form in _forms(p)) and not _ENGLISH_NAMED[p].search(lower)
    ]
