import pytest

from territory import vocab
from territory.i18n import catalogue, t
from territory.settings import Settings, SettingsError


def test_zone_type_aliases_resolve_to_codes():
    assert vocab.normalise_code("居民区", vocab.ZONE_TYPES) == "residential"
    assert vocab.normalise_code("商业区", vocab.ZONE_TYPES) == "commercial"
    assert vocab.normalise_code("驾校", vocab.ZONE_TYPES) == "driving_school"
    assert vocab.normalise_code("spaceport", vocab.ZONE_TYPES) is None


def test_card_type_aliases():
    for alias in ("A卡", "到店登记", "A"):
        assert vocab.normalise_code(alias, vocab.CARD_TYPES) == "A"
    for alias in ("C卡", "订金", "定金", "deposit"):
        assert vocab.normalise_code(alias, vocab.CARD_TYPES) == "deposit"


def test_every_zone_type_has_formats_from_the_vocabulary():
    for zone_type, formats in vocab.FORMATS_BY_ZONE_TYPE.items():
        assert zone_type in vocab.ZONE_TYPES
        assert all(f in vocab.FORMATS for f in formats)


def test_catalogue_has_both_languages():
    assert t("lang.name", "zh") == "中文"
    assert t("lang.name", "en") == "English"
    assert all(set(v) >= {"zh", "en"} for v in catalogue().values())


def test_settings_override_and_errors():
    s = Settings().merged({"scoring": {"target_r": 2.5}, "ranking": {"weights": {"density": 1}}})
    assert s.scoring.target_r == 2.5
    assert s.ranking.weights["density"] == 1.0
    with pytest.raises(SettingsError, match=r"unknown setting scoring\.nope"):
        Settings().merged({"scoring": {"nope": 1}})
    with pytest.raises(SettingsError, match="must be a number"):
        Settings().merged({"scoring": {"target_r": "three"}})
    with pytest.raises(SettingsError, match="unknown settings section"):
        Settings().merged({"scorin": {}})


def test_settings_errors_speak_the_users_language(tmp_path):
    from territory.inputs.workspace import read_sources

    with pytest.raises(SettingsError) as info:
        Settings().merged({"ranking": {"rotation_weeks": "四周"}})
    assert "rotation_weeks" in info.value.message(
        "zh"
    ) and "必须是有限的数字" in info.value.message("zh")
    assert "must be a number" in str(info.value)
    # In dealer.toml the problem is reported in the workspace's language, detail included.
    from conftest import make_workspace

    root = make_workspace(tmp_path / "ws")
    toml = root / "dealer.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8") + "\n[settings.nope]\nx = 1\n", encoding="utf-8"
    )
    from territory._errors import LayerError

    with pytest.raises(LayerError) as err:
        read_sources(root, lang="zh")
    problem = next(p for p in err.value.problems if p.key == "err.toml_settings")
    assert "没有名为“nope”的设置分组" in problem.message("zh")
    assert "unknown settings section 'nope'" in problem.message("en")
