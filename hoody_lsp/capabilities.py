"""Client capabilities -> a few booleans, resolved once at initialize."""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types

from hoody_lsp.documents import Encoding


@dataclass(frozen=True, slots=True)
class ClientFlags:
    inline_completion: bool = False
    document_changes: bool = False
    create_files: bool = False
    change_annotations: bool = False
    apply_edit: bool = False
    work_done_progress: bool = False
    watched_files_dynamic: bool = False
    configuration: bool = False
    show_message: bool = True
    snippet_support: bool = False
    name: str = ""

    @classmethod
    def from_params(cls, params: types.InitializeParams) -> ClientFlags:
        caps = params.capabilities
        ws = caps.workspace
        td = caps.text_document
        edit = ws.workspace_edit if ws else None
        resource_ops = (edit.resource_operations or []) if edit else []
        completion_item = td.completion.completion_item if td and td.completion else None
        return cls(
            inline_completion=bool(td and td.inline_completion is not None),
            document_changes=bool(edit and edit.document_changes),
            create_files=bool(edit and edit.document_changes and types.ResourceOperationKind.Create in resource_ops),
            change_annotations=bool(edit and edit.change_annotation_support is not None),
            apply_edit=bool(ws and ws.apply_edit),
            work_done_progress=bool(caps.window and caps.window.work_done_progress),
            watched_files_dynamic=bool(
                ws and ws.did_change_watched_files and ws.did_change_watched_files.dynamic_registration
            ),
            configuration=bool(ws and ws.configuration),
            snippet_support=bool(completion_item and completion_item.snippet_support),
            name=(params.client_info.name if params.client_info else ""),
        )


def negotiated_encoding(caps: types.ClientCapabilities) -> Encoding:
    """The position encoding pygls announces: the client's first supported preference, else utf-16."""
    from pygls.capabilities import ServerCapabilitiesBuilder

    chosen = ServerCapabilitiesBuilder.choose_position_encoding(caps)
    value = chosen.value if isinstance(chosen, types.PositionEncodingKind) else str(chosen)
    return value if value in ("utf-8", "utf-16", "utf-32") else "utf-16"  # type: ignore[return-value]
