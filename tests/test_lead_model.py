"""The lead model: new card columns, lead linking, [team], traffic, and their bad input."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd
import pytest
from conftest import DEALER, centre, make_workspace

from territory._errors import LayerError
from territory.cli import main
from territory.inputs import store
from territory.inputs.dealer import Team, parse_dealer
from territory.inputs.leadlink import link_leads
from territory.inputs.workspace import load_workspace, read_sources
from territory.settings import Settings

X, Y = centre(0)
HEAD = "card_id,card_type,date,grade,status,phone,lead_id,source,event_id,consultant,last_contact,closed_date,lost_reason,lon,lat\n"
TEAM = '\n[team]\nconsultants = ["张伟", "李娜"]\nstaff_per_day = 8\ntest_cars = 2\n'
EVENTS = (
    "event_id,date,zone_id,format,cost,leads,sales\nE1,2026-04-04,001,evening_display,2000,80,6\n"
)


def card(**values: str) -> str:
    row = dict.fromkeys(HEAD.strip().split(","), "")
    row.update(card_id="K1", card_type="A", date="2026-05-01", grade="H", status="open")
    row.update(phone="13812341234", consultant="张伟", lon=str(X), lat=str(Y))
    row.update(values)
    return ",".join(row.values()) + "\n"


def snapshot(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(root.iterdir())}


@pytest.fixture
def ws(tmp_path):
    return make_workspace(tmp_path / "ws", dealer=DEALER + TEAM, events=EVENTS, cards=HEAD + card())


def write_cards(root: Path, *rows: str) -> None:
    (root / "cards.csv").write_text(HEAD + "".join(rows), encoding="utf-8")


# ----------------------------------------------------------------------------- linking


def test_lead_id_first_then_normalised_phone_then_the_card_itself():
    cards = pd.DataFrame(
        {
            "card_id": ["A1", "D1", "A2", "D2", "A3", "X1", "X2"],
            "card_type": ["A", "deposit", "A", "deposit", "A", "A", "A"],
            "date": pd.to_datetime(
                [
                    "2026-05-02",
                    "2026-05-09",
                    "2026-05-01",
                    "2026-05-20",
                    "2026-05-03",
                    "2026-05-04",
                    "2026-05-05",
                ]
            ),
            # phones as normalised on load (+86, spaces and dashes removed)
            "phone": [
                "13812341234",
                "13812341234",
                "13900001111",
                "13900001111",
                None,
                "13700000000",
                "13700000000",
            ],
            "lead_id": [None, None, "L-9", None, None, None, None],
        }
    )
    linked = link_leads(cards).set_axis(cards["card_id"])
    assert linked.loc["D1", "lead_id"] == linked.loc["A1", "lead_id"] == "A1"
    assert linked.loc["D2", "lead_id"] == "L-9"  # joins the lead_id of its phone
    assert linked.loc["D2", "lead_linked_by"] == "phone"
    assert linked.loc["A3", "lead_id"] == "A3" and linked.loc["A3", "lead_linked_by"] == "card"
    assert linked.loc["X2", "lead_id"] == "X1"  # named after the earliest card
    assert linked["lead_id"].nunique() == 4


def test_a_placeholder_phone_links_nobody():
    n = Settings().leads.max_cards_per_phone + 1
    cards = pd.DataFrame(
        {
            "card_id": [f"A{i}" for i in range(n)],
            "card_type": ["A"] * n,
            "date": pd.to_datetime(["2026-05-01"] * n),
            "phone": ["13800000000"] * n,
        }
    )
    linked = link_leads(cards)
    assert linked["lead_id"].nunique() == n
    assert linked.attrs["placeholder_phones"] == ["13800000000"]


def test_a_derived_name_never_takes_another_leads_id():
    cards = pd.DataFrame(
        {
            "card_id": ["K1", "K2"],
            "card_type": ["A", "A"],
            "date": pd.to_datetime(["2026-05-01", "2026-05-02"]),
            "phone": [None, "13900001111"],
            "lead_id": [None, "K1"],
        }
    )
    linked = link_leads(cards)
    assert linked["lead_id"].tolist() == ["K1~2", "K1"]


def test_the_new_columns_are_read_with_chinese_headers_and_phones_normalised(ws):
    (ws / "cards.csv").write_text(
        "卡号,卡类型,日期,级别,状态,电话,线索编号,来源,活动编号,销售顾问,最近跟进日期,结案日期,战败原因,经度,纬度\n"
        f"K1,A卡,2026-05-01,H级,成交,+86 138-1234-1234,,外拓,E1,张伟,2026/5/3,2026年5月9日,,{X},{Y}\n"
        f"K2,订金,2026-05-09,,成交,13812341234,,,,张伟,,2026-05-09,,{X},{Y}\n"
        f"K3,A卡,2026-05-02,C级,战败,13900001111,L3,转介绍,,李娜,2026-05-04,2026-05-20,买了竞品,{X},{Y}\n",
        encoding="utf-8",
    )
    cards = read_sources(ws).cards.set_index("card_id")
    assert cards.loc["K1", "source"] == "outreach" and cards.loc["K3", "source"] == "referral"
    assert cards.loc["K1", "last_contact"] == pd.Timestamp("2026-05-03")
    assert cards.loc["K1", "closed_date"] == pd.Timestamp("2026-05-09")
    assert cards.loc["K2", "lead_id"] == "K1"  # +86 and dashes removed: one person
    assert cards.loc["K3", "lead_id"] == "L3" and cards.loc["K3", "lost_reason"] == "买了竞品"


def test_old_workspaces_without_any_new_column_still_load(tiny_ws):
    ws = load_workspace(tiny_ws, use_store=False)
    assert ws.cards["lead_id"].notna().all()
    assert ws.dealer.team == Team()
    assert ws.traffic.empty


# ----------------------------------------------------------------------------- [team]


def test_team_is_parsed_and_exported(ws, tmp_path):
    loaded = load_workspace(ws, use_store=False)
    assert loaded.dealer.team == Team(("张伟", "李娜"), 8, 2)
    store.export_workspace(loaded, tmp_path / "out")
    assert read_sources(tmp_path / "out").dealer.team == Team(("张伟", "李娜"), 8, 2)


@pytest.mark.parametrize(
    ("team", "where"),
    [
        ('consultants = ["张伟", "张伟"]', "team.consultants[2]"),
        ('consultants = ["张伟", ""]', "team.consultants[2]"),
        ('consultants = "张伟"', "team.consultants"),
        ("staff_per_day = 0", "team.staff_per_day"),
        ("staff_per_day = 7.5", "team.staff_per_day"),
        ('test_cars = "两台"', "team.test_cars"),
        ("test_cars = -1", "team.test_cars"),
        ("cars = 2", "team.cars"),
    ],
)
def test_bad_team_is_refused_naming_the_key(team, where):
    import tomllib

    data = {
        "name": "店",
        "lon": 104.0,
        "lat": 30.6,
        "models": [{"name": "A", "price": 1.0}],
        "team": tomllib.loads(team),
    }
    with pytest.raises(LayerError) as info:
        parse_dealer(data, lang="en")
    assert where in str(info.value)
    assert "Fix:" in str(info.value)


def test_a_team_that_is_not_a_table_is_refused():
    with pytest.raises(LayerError, match="must be a table"):
        parse_dealer(
            {
                "name": "店",
                "lon": 104.0,
                "lat": 30.6,
                "models": [{"name": "A", "price": 1}],
                "team": 3,
            },
            lang="en",
        )


# ----------------------------------------------------------------------------- bad input


def in_days(n: int) -> str:
    return (dt.date.today() + dt.timedelta(days=n)).isoformat()


#: case -> (cards rows, or a function changing the workspace; file named; column named)
REJECTED = {
    "unknown_grade": (lambda root: write_cards(root, card(grade="D级")), "cards.csv", "grade"),
    "unknown_source": (lambda root: write_cards(root, card(source="抖音")), "cards.csv", "source"),
    "contact_before_registration": (
        lambda root: write_cards(root, card(last_contact="2026-04-20")),
        "cards.csv",
        "last_contact",
    ),
    "contact_in_the_future": (
        lambda root: write_cards(root, card(last_contact=in_days(30))),
        "cards.csv",
        "last_contact",
    ),
    "closed_before_registration": (
        lambda root: write_cards(root, card(status="lost", closed_date="2026-04-30")),
        "cards.csv",
        "closed_date",
    ),
    "traffic_negative_visitors": (
        lambda root: (root / "traffic.csv").write_text(
            "日期,来店批次\n2026-05-01,12\n2026-05-02,-3\n"
        ),
        "traffic.csv",
        "visitors",
    ),
    "traffic_fractional_visitors": (
        lambda root: (root / "traffic.csv").write_text("date,visitors\n2026-05-01,12.5\n"),
        "traffic.csv",
        "visitors",
    ),
    "traffic_unknown_source": (
        lambda root: (root / "traffic.csv").write_text(
            "date,visitors,source\n2026-05-01,12,抖音\n"
        ),
        "traffic.csv",
        "source",
    ),
    "team_duplicate_consultant": (
        lambda root: (root / "dealer.toml").write_text(
            DEALER + TEAM.replace('"李娜"', '"张伟"'), encoding="utf-8"
        ),
        "dealer.toml",
        "team.consultants",
    ),
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("case", list(REJECTED))
def test_bad_lead_input_exits_2_naming_file_row_and_column(case, lang, ws, capsys):
    breaker, file, column = REJECTED[case]
    breaker(ws)
    before = snapshot(ws)
    assert main(["validate", str(ws), "--lang", lang]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert file in err and column in err
    assert ("修改方法" if lang == "zh" else "Fix:") in err
    if file != "dealer.toml":
        assert ("第 2 行" if lang == "zh" else "row 2") in err or (
            "第 3 行" in err or "row 3" in err
        )
    assert main(["import", str(ws), "--lang", lang]) == 2
    capsys.readouterr()
    assert snapshot(ws) == before, "nothing may be written on exit 2"


#: case -> (cards rows, notice key, check on the loaded cards)
NOTICED = {
    "deposit_without_a_card": (
        [card(card_id="D1", card_type="deposit", status="won")],
        "notice.deposit_without_a_card",
        lambda c: c.loc["D1", "lead_id"] == "D1",
    ),
    "two_consultants": (
        [card(), card(card_id="D1", card_type="deposit", date="2026-05-08", consultant="李娜")],
        "notice.lead_two_consultants",
        lambda c: c["lead_id"].nunique() == 1,
    ),
    "consultant_not_in_team": (
        [card(consultant="赵六")],
        "notice.consultant_not_in_team",
        lambda c: c.loc["K1", "consultant"] == "赵六",
    ),
    "event_unknown": (
        [card(source="outreach", event_id="E99")],
        "notice.card_event_unknown",
        lambda c: c.loc["K1", "event_id"] == "E99",
    ),
    "closed_date_on_open_card": (
        [card(closed_date="2026-05-03")],
        "notice.closed_date_open",
        lambda c: c.loc["K1", "status"] == "open",
    ),
    "placeholder_phone": (
        [card(card_id=f"K{i}", phone="13800000000") for i in range(12)],
        "notice.placeholder_phone",
        lambda c: c["lead_id"].nunique() == 12,
    ),
}


@pytest.mark.parametrize("case", list(NOTICED))
def test_usable_lead_data_is_read_with_a_notice(case, ws, capsys):
    rows, key, check = NOTICED[case]
    write_cards(ws, *rows)
    assert main(["validate", str(ws), "--lang", "en"]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    loaded = read_sources(ws)
    notice = [p for p in loaded.notices if p.key == key]
    assert notice, [p.key for p in loaded.notices]
    assert notice[0].file == "cards.csv" and notice[0].rows
    assert notice[0].message("en") in err
    assert check(loaded.cards.set_index("card_id"))


def test_traffic_is_read_summed_per_row_and_kept_in_the_store(ws):
    (ws / "traffic.csv").write_text(
        "日期,来店批次,来源\n2026-05-01,12,展厅\n2026-05-01,3,转介绍\n2026-05-02,0,\n",
        encoding="utf-8",
    )
    loaded = load_workspace(ws, use_store=False, save_store=True)
    assert loaded.traffic["visitors"].tolist() == [12, 3, 0]
    assert loaded.traffic["source"].tolist()[:2] == ["showroom", "referral"]
    cached = store.read_store_if_fresh(ws)
    assert cached is not None
    assert cached.traffic["visitors"].tolist() == [12, 3, 0]
    assert cached.traffic["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2026-05-01",
        "2026-05-01",
        "2026-05-02",
    ]
    assert cached.dealer.team.consultants == ("张伟", "李娜")
    assert cached.cards["lead_id"].tolist() == loaded.cards["lead_id"].tolist()
