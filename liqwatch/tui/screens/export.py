"""``e`` / ``E``: where the export goes, asked before anything is written.

The path is prefilled (the directory of the last export this session, else the one liqwatch was
started in, and a timestamped name) and can be edited; Enter writes, Esc cancels. A bad path is
said on one line under the field, which stays open to correct it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from liqwatch.state import PositionView
from liqwatch.tui.export import write


class ExportScreen(ModalScreen[Path | None]):
    """Dismissed with the path written, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(
        self,
        views: Sequence[PositionView],
        fmt: Literal["csv", "json"],
        path: Path,
        now: float,
    ) -> None:
        super().__init__()
        self.views = list(views)
        self.fmt: Literal["csv", "json"] = fmt
        self.path = path
        self.now = now

    def compose(self) -> ComposeResult:
        with Vertical(id="export-body"):
            yield Static(
                Text(f"Export {len(self.views)} positions as {self.fmt.upper()} (the table as shown)", style="bold")
            )
            yield Static(Text("Write to — edit the path; Enter writes, Esc cancels:", style="dim"))
            yield Input(value=str(self.path), id="export-path")
            yield Static(self.will_write(self.path), id="export-target")
            yield Static(id="export-error")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @staticmethod
    def will_write(path: Path | None) -> Text:
        """The whole path, wrapped (the field may be too narrow to show it at once)."""
        if path is None:
            return Text("will write: nothing yet (type a file path)", style="yellow")
        return Text.assemble(("will write: ", "dim"), str(path))

    def resolve(self, text: str) -> Path | None:
        """The file the typed path names (absolute; a directory: the default name in it)."""
        text = text.strip()
        if not text:
            return None
        path = Path(text).expanduser().absolute()
        return path / self.path.name if path.is_dir() else path

    def error(self, message: str) -> None:
        self.query_one("#export-error", Static).update(Text(message, style="bold red"))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_one("#export-target", Static).update(self.will_write(self.resolve(event.value)))
        self.query_one("#export-error", Static).update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = self.resolve(event.value)
        if path is None:
            self.error("export path: empty — type a file path, or Esc to cancel")
            return
        if path.exists():
            self.error(f"export path: {path} exists — choose another name, or Esc to cancel")
            return
        try:
            write(self.views, path, self.fmt, self.now)
        except OSError as exc:
            self.error(f"export failed: {path}: {exc.strerror or exc}")
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
