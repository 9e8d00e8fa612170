"""The [assistant] config section is checked when settings load."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.config import unused_port, write_config
from support.web import append_config


def test_config_checks_the_assistant_section(tmp_path: Path) -> None:
    from mailrs.config import load_settings
    from mailrs.errors import ConfigError

    config = append_config(
        write_config(tmp_path, port=unused_port), '[assistant]\nengine = "openai"'
    )
    with pytest.raises(ConfigError, match="assistant.endpoint"):
        load_settings(config, environ={})
    config.write_text(config.read_text().replace('"openai"', '"magic"'))
    with pytest.raises(ConfigError, match="assistant.engine"):
        load_settings(config, environ={})
