"""The console: a piped conversation reaches a plan and exits cleanly at end of input."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bot.config import PROJECT_ROOT
from bot.console import html_to_text
from tests.conftest import BOT_COMMAND

CONVERSATION = "\n".join([
    "1",            # SaaS (button 1)
    "Singapour",    # typed: country and city at once
    "2",            # 10 to 49 employees (button 2)
    "2M",           # typed turnover
    "8",            # Île-de-France (button 8)
    "1",            # first steps
    "4",            # VIE: "Oui, 2" (yes, and how many, in one tap)
    "2",            # budget 20-50k
    "3 ans",        # typed company age (asked: a scheme open to this profile depends on it)
    "11",           # see my plan
    "1",            # 🛬 where to land: the plan message, edited, with the other sections
    "4",            # ⬅️ back to the summary
    "5",            # 📄 PDF: written to a file in the current directory
]) + "\n"


def run_console(stdin: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env.update(DATA_DIR=str(tmp_path / "data"), KNOWLEDGE_DIR=str(PROJECT_ROOT / "knowledge"),
               DEFAULT_LOCALE="fr")
    return subprocess.run([*BOT_COMMAND, "console"], input=stdin, text=True,
                          capture_output=True, cwd=tmp_path, env=env, timeout=120, check=False)


def test_piped_conversation_reaches_a_plan(tmp_path: Path) -> None:
    done = run_console(CONVERSATION, tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "1/8" in out and "8/8" in out and "Récapitulatif" in out
    plan = out[out.index("Votre plan export"):]
    summary = plan.split("\n[1] ")[0]
    landing = plan.split("\n🛬 Où atterrir")[1]
    assert "Singapour" in summary and "Par quoi commencer" in summary
    # the summary's buttons, numbered: the sections, the PDF, then the rest
    assert ("[1] 🛬 Où atterrir   [2] 🧑\u200d💼 VIE et coût\n[3] 💶 Aides (" in plan
            and "[5] 📄 Plan complet (PDF)\n[6] ⚖️ Comparer avec une autre destination\n"
            in plan and "] ✏️ Modifier mes réponses" in plan)
    # the section, edited in place: its text, then the other sections, back and the PDF
    assert "Singapour" in landing
    assert "[1] 🧑\u200d💼 VIE et coût   [2] 💶 Aides" in landing
    assert "[4] ⬅️ Résumé   [5] 📄 Plan complet (PDF)" in landing
    assert plan.count("Par quoi commencer") == 2  # back to the summary
    saved = sorted(tmp_path.glob("plan-export-singapour-*.pdf"))
    assert len(saved) == 1 and saved[0].read_bytes().startswith(b"%PDF")
    assert f"[document] {saved[0]}" in out
    assert out.rstrip().endswith("Au revoir !")
    assert "Traceback" not in done.stderr


def test_a_comparison_writes_its_chart_to_a_file(tmp_path: Path) -> None:
    """⚖️ from the plan, a destination typed: the chart is written beside the PDF, its path
    printed, and the screen side by side follows."""
    done = run_console(CONVERSATION + "6\nTokyo\n", tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    (chart,) = sorted(tmp_path.glob("comparaison-singapour-tokyo*.png"))
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert f"[image] {chart}" in out
    screen = out[out.index(f"[image] {chart}"):]
    assert "Singapour ou Tokyo ?" in screen and "Indemnité VIE par mois" in screen
    assert "Traceback" not in done.stderr


def test_empty_input_exits_cleanly(tmp_path: Path) -> None:
    done = run_console("", tmp_path)
    assert done.returncode == 0 and "1/8" in done.stdout


def test_links_are_shown_with_their_address() -> None:
    text = html_to_text('<b>Voir</b> <a href="https://x.org/?a=1&amp;b=2">le site</a> &lt;3')
    assert text == "Voir le site (https://x.org/?a=1&b=2) <3"


def test_a_second_run_on_the_same_data_reaches_its_plan_too(tmp_path: Path) -> None:
    first = run_console(CONVERSATION, tmp_path)
    second = run_console("/restart\n" + CONVERSATION, tmp_path)  # the same DATA_DIR
    for done in (first, second):
        assert done.returncode == 0, done.stderr
        assert "Votre plan export" in done.stdout and "Singapour" in done.stdout


def test_a_pasted_conversation_of_typed_answers_is_never_flood_limited(tmp_path: Path) -> None:
    """One person at a terminal: twelve typed lines at once all answer (no "slow down")."""
    typed = ["saas", "etats unis", "Boston", "cinq salariés", "800k", "la reunion", "Réunion",
             "premiers pas", "Peut-être", "30k", "2 ans", "12"]
    done = run_console("\n".join(typed) + "\n", tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Doucement" not in out
    assert "Territoire : La Réunion" in out and "Budget : 30\u202f000\u00a0€" in out
    assert "Votre plan export : Boston" in out and "Par quoi commencer" in out
