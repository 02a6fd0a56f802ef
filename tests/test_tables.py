"""Finding the header row and the sheet of real DMS exports (issue 13)."""

from __future__ import annotations

from territory.inputs._tables import canonical_name, find_header

KNOWN = {"customer_id", "name", "phone", "lon", "lat", "model"}


def test_the_header_is_the_row_naming_most_columns():
    rows = [
        ["保有客户明细"],
        [None],
        ["客户编号", "姓名", "经度", "纬度"],
        ["C1", "张三", "104", "30"],
    ]
    header = find_header(rows, KNOWN)
    assert (header.row, header.data, header.score) == (2, 3, 4)


def test_a_sub_header_row_completes_merged_cells():
    rows = [
        ["客户编号", "姓名", "位置", None],
        [None, None, "经度", "纬度"],
        ["C1", "张三", "104", "30"],
    ]
    header = find_header(rows, KNOWN)
    assert header.cells == ("客户编号", "姓名", "经度", "纬度") and header.data == 2


def test_group_headers_above_are_not_taken_for_names():
    rows = [
        ["客户信息", None, "位置", None],
        ["客户编号", "姓名", "经度", "纬度"],
        ["C1", "x", "1", "2"],
    ]
    header = find_header(rows, KNOWN)
    assert header.row == 1 and header.cells[2] == "经度"


def test_without_known_names_the_first_non_empty_row_is_the_header():
    rows = [[None, None], ["字段1", "字段2"], ["a", "b"]]
    header = find_header(rows, KNOWN)
    assert header.row == 1 and header.score == 0
    assert find_header([[None]], KNOWN) is None


def test_a_given_header_row_wins():
    rows = [["客户编号", "经度", "纬度"], ["区县", "人数"], ["C1", "104", "30"]]
    assert find_header(rows, KNOWN, given=1).row == 1


def test_units_and_dms_names_are_recognised():
    assert canonical_name("费用（元）") == "cost"
    assert canonical_name("人口(人)") == "population"
    assert canonical_name("手机号码") == "phone"
    assert canonical_name("东经") == "lon"
    assert canonical_name("备注") is None
