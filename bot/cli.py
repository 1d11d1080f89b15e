"""`inkoopkompas`: the entry point for the terminal chat, the Telegram bot and rendering documents.

Problems a person can fix (bad settings, an unreadable data file) end in one clear line on stderr
and a non-zero exit code, never in a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from dotenv import load_dotenv

from bot.config import ConfigError, Settings, load_settings
from bot.wiring import StorageProblem, open_store, user_key_for_console
from flows.events import DocumentRequest

EXIT_CONFIG = 2
EXIT_STORAGE = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inkoopkompas",
        description="Chatassistent voor het voorbereiden van een duurzame FM-aanbesteding.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    chat = sub.add_parser("chat", help="praat met de assistent in deze terminal")
    chat.add_argument("--data-dir", type=Path, help="waar de antwoorden bewaard worden")
    chat.add_argument("--user", default=None, help="je naam, als meer mensen deze computer delen")
    chat.add_argument(
        "--out-dir",
        type=Path,
        default=Path("inkoopkompas-documenten"),
        help="map voor de documenten van /samenvatting en /download",
    )

    telegram = sub.add_parser("telegram", help="start de Telegram-bot (long polling of webhook)")
    telegram.add_argument("--data-dir", type=Path, help="waar de antwoorden bewaard worden")
    telegram.add_argument(
        "--webhook",
        metavar="URL",
        help="webhook in plaats van long polling: het openbare https-adres achter je proxy",
    )

    doctor = sub.add_parser("doctor", help="controleer instellingen, gegevensmap en token")
    doctor.add_argument("--data-dir", type=Path, help="de gegevensmap om te controleren")

    export = sub.add_parser("export", help="alle gegevens van een persoon naar een bestand")
    export.add_argument("--user", required=True, help="de gebruikerssleutel, bijv. tg-12345")
    export.add_argument("-o", "--output", type=Path, required=True, help="het doelbestand (JSON)")
    export.add_argument("--data-dir", type=Path, help="waar de antwoorden bewaard worden")

    imp = sub.add_parser("import", help="de gegevens van een persoon uit een exportbestand")
    imp.add_argument("file", type=Path, help="een bestand van inkoopkompas export")
    imp.add_argument("--data-dir", type=Path, help="waar de antwoorden bewaard worden")

    render = sub.add_parser("render", help="maak documenten van een antwoordenbestand (YAML)")
    render.add_argument("answers", type=Path, help="het antwoordenbestand")
    render.add_argument("--format", choices=("docx", "md", "png", "txt", "json"), default="docx")
    render.add_argument("-o", "--output", type=Path, required=True, help="het doelbestand")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    load_dotenv(Path.cwd() / ".env", override=False)
    try:
        if args.command == "chat":
            settings = load_settings(data_dir=args.data_dir)
            return run_chat(settings, args.user, args.out_dir)
        if args.command == "doctor":
            from bot import doctor

            return doctor.main(args.data_dir)
        if args.command in ("export", "import"):
            from bot import portability

            return portability.main(args)
        if args.command == "telegram":
            settings = load_settings(
                data_dir=args.data_dir, need_token=True, webhook_url=args.webhook
            )
            from bot.telegram.app import run_bot

            return run_bot(settings)
        return run_render(args.answers, args.format, args.output)
    except ConfigError as exc:
        print(f"inkoopkompas: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StorageProblem as exc:
        print(f"inkoopkompas: {exc}", file=sys.stderr)
        return EXIT_STORAGE
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); everything was saved before it was printed.
        sys.stderr.close()
        return 0


def run_chat(settings: Settings, user: str | None, out_dir: Path) -> int:
    from bot.console import Console, input_lines, tolerate_bad_bytes
    from flows.contract.room import register as register_contract
    from flows.engine import Conversation
    from flows.report.summary import chat_summary

    store = open_store(settings.data_dir)
    tolerate_bad_bytes(sys.stdout)
    conversation = Conversation(store, buttons=False, summarizer=chat_summary)
    register_contract(conversation)  # hook: the contract phase (flows/contract)
    console = Console(
        conversation,
        user_key_for_console(user),
        out=sys.stdout,
        out_dir=out_dir,
        write_documents=write_documents,
        echo=not sys.stdin.isatty(),
    )
    return console.run(input_lines())


def write_documents(request: DocumentRequest, folder: Path) -> list[Path]:
    # Imported on first use: matplotlib and python-docx would add a second to every chat start.
    from bot.document_files import write_documents as write
    from flows.report.documents import render_all

    return write(render_all(request), request, folder)


def run_render(answers: Path, fmt: str, output: Path) -> int:
    """Render one answers file; any problem with the file or the output is one line, exit 2."""
    from bot.document_files import failure_reason, write_private
    from flows.prompting import plain
    from flows.report.answers_file import AnswersFileError, load_answers_file
    from flows.report.documents import render_bytes
    from flows.texts import default_texts

    try:
        request = load_answers_file(answers)
    except AnswersFileError as exc:
        raise ConfigError(str(exc)) from exc
    if output.is_dir():
        raise ConfigError(
            f"{output} is een map; geef een bestandsnaam, bijvoorbeeld {output}/a.{fmt}"
        )
    try:
        data = render_bytes(request, fmt)
    except Exception as exc:  # a bug, but a person running `render` still gets one line
        raise ConfigError(
            f"{answers}: kan hier geen document van maken ({type(exc).__name__})"
        ) from exc
    try:
        write_private(output, data)
    except OSError as exc:
        raise ConfigError(f"kan {output} niet schrijven ({failure_reason(exc)})") from exc
    print(plain(default_texts()("console.written", path=str(output))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
