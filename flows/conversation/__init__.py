"""The guided conversation, in rooms a newcomer can hold in their head.

- `core.py`: one event in, one reply out; loading, saving, routing, what the person sees.
- `answering.py`: the current question and its answer, and which question comes next.
- `menus.py`: jump, resume and delete menus, paged, with a typed-word confirmation.
- `commands.py`: the registry of commands and where each may be used.
- `machine.py`: the modes, the moves between them and the command rules, as one state machine.
- `diagram.py`: draws that machine for the README (`python -m flows.conversation.diagram`).
"""
