"""The English catalogue is the source language: every msgstr equals its msgid, so it is always complete."""

from pathlib import Path

from babel.messages.pofile import read_po, write_po

PATH = Path(__file__).resolve().parent.parent / "translations/en/LC_MESSAGES/messages.po"

with PATH.open("rb") as handle:
    catalog = read_po(handle, locale="en")
for message in catalog:
    if isinstance(message.id, tuple):  # a plural: (singular, plural) as the English forms
        if not all(message.string or ()):
            message.string = message.id
    elif message.id and not message.string:
        message.string = message.id
    message.flags.discard("fuzzy")
with PATH.open("wb") as handle:
    write_po(handle, catalog, width=120, sort_output=True, omit_header=False)
