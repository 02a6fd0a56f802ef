"""The controlled vocabulary of the workspace contract.

Codes are the stable English identifiers stored in the workspace and printed
in JSON; every code has a Chinese and an English label, and input files may
use any of the aliases listed here (see ``shared/contract.md``).

Examples
--------
>>> from territory.vocab import ZONE_TYPES, normalise_code
>>> normalise_code("居民区", ZONE_TYPES)
'residential'
>>> ZONE_TYPES["residential"].zh
'居住区'
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

__all__ = [
    "CARD_STATUSES",
    "CARD_TYPES",
    "COLUMN_ALIASES",
    "COORD_SYSTEMS",
    "EVENT_STATUSES",
    "FORMATS",
    "FORMATS_BY_POI_TYPE",
    "FORMATS_BY_ZONE_TYPE",
    "GENDERS",
    "GRADES",
    "POI_TYPES",
    "SOURCES",
    "TOOLS",
    "ZONE_TYPES",
    "Term",
    "alias_map",
    "label",
    "normalise_code",
    "normalise_text",
]


@dataclass(frozen=True)
class Term:
    """One code of the vocabulary with its labels and accepted aliases."""

    code: str
    zh: str
    en: str
    aliases: tuple[str, ...] = field(default=())

    def label(self, lang: str = "zh") -> str:
        """Return the label in ``lang`` (``"zh"`` or ``"en"``)."""
        return self.zh if lang == "zh" else self.en


def _terms(*terms: Term) -> dict[str, Term]:
    return {t.code: t for t in terms}


ZONE_TYPES: dict[str, Term] = _terms(
    Term("residential", "居住区", "Residential", ("居民区", "住宅区", "社区", "小区")),
    Term("commercial", "商圈", "Commercial district", ("商业区", "商圈", "商业")),
    Term("enterprise", "企业", "Enterprises", ("工业区", "园区", "企业园区", "开发区")),
    Term("township", "乡镇", "Township", ("镇", "乡")),
    Term("market", "市场", "Market", ("集市", "农贸市场", "批发市场")),
    Term("driving_school", "驾校", "Driving school", ("驾驶学校", "driving school")),
    Term("other", "其他", "Other", ("其它",)),
)

POI_TYPES: dict[str, Term] = _terms(
    *(
        ZONE_TYPES[c]
        for c in ("driving_school", "market", "enterprise", "commercial", "residential")
    ),
    Term(
        "competitor",
        "竞品经销商",
        "Competitor showroom",
        ("竞品", "竞品店", "竞品4s店", "竞争对手", "competitor showroom"),
    ),
    # A street point where crowds pass: seed 001's wave-down test drives (招手试驾).
    Term(
        "street_spot", "人流点", "Street spot", ("街头人流点", "招手点", "街头点位", "street spot")
    ),
)

CARD_TYPES: dict[str, Term] = _terms(
    Term("A", "A卡", "A-card", ("A卡", "到店登记", "a-card", "a_card", "acard")),
    Term(
        "deposit",
        "订金卡",
        "Deposit card",
        ("C卡", "C", "订金", "定金", "订金卡", "定金卡", "deposit card", "c-card", "c_card"),
    ),
)

GRADES: dict[str, Term] = _terms(
    Term("H", "H级", "H", ("H级",)),
    Term("A", "A级", "A", ("A级",)),
    Term("B", "B级", "B", ("B级",)),
    Term("C", "C级", "C", ("C级",)),
)

CARD_STATUSES: dict[str, Term] = _terms(
    Term("open", "跟进中", "Open", ("跟进", "跟进中", "未成交", "进行中")),
    Term("won", "成交", "Won", ("成交", "已成交", "deal")),
    Term("lost", "战败", "Lost", ("战败", "失控", "流失", "已战败")),
)

#: Where a lead came from (contract "Additions": cards' ``source`` column).
SOURCES: dict[str, Term] = _terms(
    Term("showroom", "展厅", "Showroom", ("展厅", "自然到店", "到店", "walk-in", "walk in")),
    Term("phone", "来电", "Phone", ("来电", "电话", "热线")),
    Term("online", "网络", "Online", ("网络", "网销", "线上", "互联网", "web", "internet")),
    Term("outreach", "外拓", "Outreach", ("外拓", "外展", "外拓活动", "车展")),
    Term("referral", "转介绍", "Referral", ("转介绍", "老客户推荐", "推荐", "介绍")),
    Term(
        "hq",
        "总部派发",
        "From head office",
        ("总部派发", "总部", "厂家下发", "厂家", "head office"),
    ),
)

GENDERS: dict[str, Term] = _terms(
    Term("male", "男", "Male", ("男", "m", "男性")),
    Term("female", "女", "Female", ("女", "f", "女性")),
)

COORD_SYSTEMS: dict[str, Term] = _terms(
    Term("wgs84", "WGS-84", "WGS-84", ("wgs-84", "gps", "epsg:4326", "4326")),
    Term(
        "gcj02", "GCJ-02（高德/腾讯）", "GCJ-02 (AMap/Tencent)", ("gcj-02", "gcj", "火星", "高德")
    ),
    Term("bd09", "BD-09（百度）", "BD-09 (Baidu)", ("bd-09", "baidu", "百度")),
)

FORMATS: dict[str, Term] = _terms(
    Term("test_ride", "试乘体验", "Test-ride experience"),
    Term("coach_talk", "教练说车", "Instructor talks about the car"),
    Term("midday_display", "午间展示", "Midday display"),
    Term("evening_display", "晚间展示", "Evening display"),
    Term("owner_free_service", "保有客户免费服务", "Free service for existing owners"),
    Term("product_tasting", "产品品鉴会", "Product appreciation event"),
    Term("test_drive_event", "试驾会", "Test-drive event"),
    Term("flyers", "派单", "Flyers"),
    Term("static_display", "静展", "Static display"),
    Term("interactive_games", "互动游戏", "Interactive games"),
    Term("door_to_door", "上门拜访", "Door-to-door visits"),
    Term("parade", "巡游", "Parade"),
    Term("fixed_display", "定展", "Fixed display"),
    Term("promo_handout", "宣传品派发", "Promo material hand-out"),
    Term(
        "wave_down_test_drive",
        "招手试驾",
        "Wave-down test drive",
        ("街头试驾", "路边试驾", "wave-down test drive"),
    ),
)

FORMATS_BY_ZONE_TYPE: dict[str, tuple[str, ...]] = {
    "driving_school": ("test_ride", "coach_talk"),
    "residential": ("midday_display", "evening_display", "owner_free_service"),
    "enterprise": ("product_tasting", "test_drive_event"),
    "commercial": ("flyers", "static_display", "interactive_games", "wave_down_test_drive"),
    "market": ("door_to_door",),
    "township": ("parade", "fixed_display", "promo_handout"),
    "other": (),
}

#: Formats a site offers because a point of interest of that type lies in its zone
#: (on top of its zone type's): seed 001's wave-down test drives at street points.
FORMATS_BY_POI_TYPE: dict[str, tuple[str, ...]] = {
    "street_spot": ("wave_down_test_drive",),
}

EVENT_STATUSES: dict[str, Term] = _terms(
    Term("planned", "计划", "Planned", ("计划中", "已计划", "待执行", "plan")),
    Term("done", "已完成", "Done", ("完成", "已执行", "已办", "finished", "completed")),
    Term("cancelled", "取消", "Cancelled", ("已取消", "canceled", "cancel")),
)

TOOLS: dict[str, Term] = _terms(
    Term("canopy", "静展折叠雨棚", "Folding canopy for static display"),
    Term("rollup_banner", "易拉宝", "Roll-up banner"),
    Term("flyer", "传单", "Flyers"),
    Term("gift_voucher", "礼品券", "Gift vouchers"),
    Term("qr_board", "二维码展示牌", "QR-code board"),
    Term("referral_card", "转介绍卡", "Referral cards"),
    Term("giveaway", "宣传赠品", "Giveaways"),
    Term("registration_form", "外拓客户登记表", "Outreach visitor registration form"),
    Term("sales_kit", "销售工具包", "Sales kit"),
)

# Column names: canonical name -> accepted aliases (Chinese and English).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "zone_id": ("区域编号", "区域id", "zone", "zoneid"),
    "name": ("名称", "姓名", "客户姓名", "区域名称", "客户名称", "联系人"),
    "district": ("区县", "行政区", "区", "县区"),
    "zone_type": ("区域类型", "类型"),
    "population": ("人口", "人口数", "常住人口"),
    "income": ("人均可支配收入", "可支配收入", "收入"),
    "lon": ("经度", "lng", "longitude", "x", "东经", "经度坐标"),
    "lat": ("纬度", "latitude", "y", "北纬", "纬度坐标"),
    "address": ("地址", "详细地址", "住址", "联系地址", "家庭住址", "通讯地址"),
    "coord_sys": ("坐标系", "坐标系统"),
    "customer_id": ("客户编号", "客户id", "客户号", "客户代码"),
    "phone": ("电话", "手机", "手机号", "联系电话", "电话号码", "手机号码", "移动电话"),
    "model": ("车型", "意向车型", "购买车型"),
    "purchase_date": ("购车日期", "购买日期", "购车时间", "开票日期"),
    "delivery_date": ("交车日期", "提车日期"),
    "age": ("年龄",),
    "gender": ("性别",),
    "occupation": ("职业",),
    "card_id": ("卡号", "卡编号", "卡片编号"),
    "lead_id": ("线索编号", "线索id", "线索号", "leadid"),
    "source": ("来源", "线索来源", "客户来源", "信息来源"),
    "consultant": ("销售顾问", "顾问", "跟进人", "负责顾问"),
    "last_contact": ("最近跟进日期", "最近跟进", "最后跟进日期", "上次跟进日期"),
    "closed_date": ("结案日期", "成交/战败日期", "关闭日期"),
    "lost_reason": ("战败原因", "流失原因", "失败原因"),
    "visitors": ("来店批次", "来店数", "到店批次", "客流", "客流量"),
    "card_type": ("卡类型", "卡片类型", "线索类型"),
    "date": ("日期", "建卡日期", "活动日期", "登记日期"),
    "grade": ("级别", "客户级别", "意向级别"),
    "status": ("状态", "跟进状态"),
    "event_id": ("活动编号", "活动id"),
    "voucher": ("券码", "电子券码", "电子券", "优惠券码", "voucher_code"),
    "location": ("地点", "活动地点"),
    "format": ("形式", "外拓形式", "活动形式"),
    "cost": ("费用", "成本", "花费"),
    "leads": ("留资数", "集客数", "线索数"),
    "sales": ("成交数", "成交", "销量"),
    "staff": ("人数", "外拓人数", "现场人数"),
    "poi_id": ("兴趣点编号", "poi编号"),
    "poi_type": ("兴趣点类型", "poi类型", "场所类型"),
    "dealer_id": ("经销商编号", "经销商id", "门店编号", "dealer"),
    "brand": ("品牌",),
    "radius_km": ("影响半径", "半径", "销售半径"),
    "price": ("价格", "车价", "指导价"),
    "attractiveness": ("吸引力", "门店吸引力"),
    "households": ("户数", "住户数"),
}


def normalise_text(value: str) -> str:
    """Fold width, case and surrounding space so that aliases compare equal.

    >>> normalise_text("  Ａ卡 ")
    'a卡'
    """
    return unicodedata.normalize("NFKC", str(value)).strip().casefold()


def alias_map(vocab: dict[str, Term]) -> dict[str, str]:
    """Return ``{normalised alias: code}`` for every code, label and alias."""
    out: dict[str, str] = {}
    for term in vocab.values():
        for name in (term.code, term.zh, term.en, *term.aliases):
            out.setdefault(normalise_text(name), term.code)
    return out


def normalise_code(value: object, vocab: dict[str, Term]) -> str | None:
    """Return the code that ``value`` names in ``vocab``, or None if unknown."""
    if value is None:
        return None
    return alias_map(vocab).get(normalise_text(str(value)))


def label(code: str, vocab: dict[str, Term], lang: str = "zh") -> str:
    """Return the label of ``code`` in ``lang``; the code itself if unknown."""
    term = vocab.get(code)
    return term.label(lang) if term else str(code)
