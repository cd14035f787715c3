"""Appwrite-shaped errors: the exception handlers raise and the JSON body it becomes.

Appwrite answers every failure with `{"message", "code", "type", "version"}` where `code` is the HTTP status.
Messages default to the server's description for the type (app/config/errors.php), formatted with
`params` the way the server's `sprintf` does.
"""

from __future__ import annotations

from typing import Any

from devkit.appwrite_version import SERVER_VERSION

# type -> (HTTP status, default message). Only the types this emulator can produce.
_CATALOGUE: dict[str, tuple[int, str]] = {
    "general_unknown": (500, "An unknown error has occurred. Please check the logs for more information."),
    "general_server_error": (500, "An internal server error occurred."),
    "general_unauthorized_scope": (
        401,
        "The current user or API key does not have the required scopes to access the requested resource.",
    ),
    "general_rate_limit_exceeded": (
        429,
        "Rate limit for the current endpoint has been exceeded. Please try again after some time.",
    ),
    "general_argument_invalid": (
        400,
        "The request contains one or more invalid arguments. Please refer to the endpoint documentation.",
    ),
    "general_query_invalid": (400, "The query's syntax is invalid. Please check the query and try again."),
    "general_route_not_found": (
        404,
        "Route not found. Please ensure the endpoint is configured correctly and that the API route is valid "
        "for this SDK version. Refer to the API docs for more details.",
    ),
    "general_cursor_not_found": (
        400,
        "The cursor is invalid. This can happen if the item represented by the cursor has been deleted.",
    ),
    "general_bad_request": (
        400,
        "There was an error processing your request. Please check the inputs and try again.",
    ),
    "project_id_missing": (
        403,
        "When using project API key, make sure to pass x-appwrite-project header with your project ID.",
    ),
    "user_unauthorized": (401, "The current user is not authorized to perform the requested action."),
    "database_not_found": (404, "Database with the requested ID '%s' could not be found."),
    "database_already_exists": (
        409,
        "Database with the requested ID '%s' already exists. Try again with a different ID or use ID.unique() "
        "to generate a unique ID.",
    ),
    "database_timeout": (408, "Database timed out. Try adjusting your queries or adding an index."),
    "database_query_order_null": (
        400,
        "The order attribute/column had a null value. Cursor pagination requires all documents/rows order "
        "attribute/column values are non-null.",
    ),
    "table_not_found": (404, "Table with the requested ID '%s' could not be found."),
    "table_already_exists": (
        409,
        "A table with the requested ID '%s' already exists. Try again with a different ID or use ID.unique() "
        "to generate a unique ID.",
    ),
    "table_limit_exceeded": (400, "The maximum number of tables for database '%s' has been reached."),
    "row_not_found": (404, "Row with the requested ID '%s' could not be found."),
    "row_invalid_structure": (
        400,
        "The row structure is invalid. Please ensure the columns match the table definition.",
    ),
    "row_missing_data": (400, "The row data is missing. Try again with row data populated."),
    "row_missing_payload": (
        400,
        "The row data and permissions are missing. You must provide either row data or permissions to be "
        "updated.",
    ),
    "row_already_exists": (
        409,
        "Row with the requested ID '%s' already exists. Try again with a different ID or use ID.unique() to "
        "generate a unique ID.",
    ),
    "row_unique_constraint_violation": (
        409,
        "Row violates a unique column constraint. Try again with different value(s).",
    ),
    "column_not_found": (404, "Column with the requested key '%s' could not be found."),
    "column_unknown": (
        400,
        "The column '%s' required for the index could not be found. Please confirm all your columns are in the "
        "available state.",
    ),
    "column_not_available": (400, "The requested column '%s' is not yet available. Please try again later."),
    "column_default_unsupported": (400, "Default values cannot be set for array or required columns."),
    "column_already_exists": (
        409,
        "Column with the requested key '%s' already exists. Column keys must be unique, try again with a "
        "different key.",
    ),
    "column_limit_exceeded": (400, "The maximum number or size of columns for table '%s' has been reached."),
    "column_value_invalid": (
        400,
        "The column value is invalid. Please check the type, range and value of the column.",
    ),
    "column_type_invalid": (400, "The column '%s' type is invalid."),
    "index_invalid": (400, "Index invalid."),
    "column_index_not_found": (404, "Index with the requested key '%s' could not be found."),
    "column_index_limit_exceeded": (400, "The maximum number of indexes for table '%s' has been reached."),
    "column_index_already_exists": (
        409,
        "Index with the requested key '%s' already exists. Try again with a different key.",
    ),
    "column_index_invalid": (400, "Index invalid."),
    "column_index_dependency": (
        409,
        "Column '%s' cannot be renamed or deleted. Please remove the associated index first.",
    ),
    "project_not_found": (
        404,
        "Project with the requested ID could not be found. Please check the value of the X-Appwrite-Project "
        "header to ensure the correct project ID is being used.",
    ),
    "document_not_found": (404, "Document with the requested ID '%s' could not be found."),
    "document_invalid_structure": (
        400,
        "The document structure is invalid. Please ensure the attributes match the collection definition.",
    ),
    "transaction_not_found": (404, "Transaction with the requested ID '%s' could not be found."),
    "transaction_failed": (400, "The transaction has errored. Please check the transaction data and try again."),
    "transaction_expired": (410, "The transaction has expired. Please create a new transaction and try again."),
    "transaction_conflict": (409, "The transaction has a conflict. Please resolve the conflict and try again."),
    "transaction_limit_exceeded": (400, "The maximum number of operations per transaction has been exceeded."),
    "transaction_not_ready": (400, "The transaction is not ready yet. Please try again later."),
    "storage_bucket_not_found": (404, "Storage bucket with the requested ID could not be found."),
    "topic_not_found": (404, "Topic with the request ID could not be found."),
    "topic_already_exists": (409, "Topic with the request ID already exists."),
    "message_not_found": (404, "Message with the requested ID could not be found."),
    "message_already_exists": (
        409,
        "Message with the requested ID already exists. Try again with a different ID or use ID.unique() to "
        "generate a unique ID.",
    ),
    "message_missing_target": (
        400,
        "Message with the requested ID has no recipients (topics or users or targets).",
    ),
    "message_target_not_email": (400, "Message with the target ID is not an email target."),
    "message_target_not_sms": (400, "Message with the target ID is not an SMS target."),
    "message_target_not_push": (400, "Message with the target ID is not a push target."),
}

# The server passes these statuses through; any other status becomes a generic 500 (general.php).
_PUBLIC_STATUSES = frozenset({400, 401, 402, 403, 404, 405, 408, 409, 410, 412, 416, 422, 429, 451, 501, 503})


class ApiError(Exception):
    """A failure the HTTP layer turns into an Appwrite error response."""

    def __init__(self, error_type: str, message: str | None = None, *params: object) -> None:
        status, template = _CATALOGUE.get(error_type, (500, _CATALOGUE["general_unknown"][1]))
        if message is None:
            message = template % params if params else template.replace("%s", "")
        super().__init__(message)
        self.type = error_type
        self.status = status
        self.message = message

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.type, self.message)


def error_body(status: int, error_type: str, message: str) -> dict[str, Any]:
    """The production error JSON, with the server's masking of non-public statuses."""
    if status not in _PUBLIC_STATUSES:
        status, message = 500, "Server Error"
    return {"message": message, "code": status, "type": error_type, "version": SERVER_VERSION}


def error_for_status(status: int) -> tuple[str, str]:
    """A sensible (type, message) for an injected fault answering with `status`."""
    by_status = {
        400: "general_bad_request",
        401: "general_unauthorized_scope",
        403: "general_unauthorized_scope",
        404: "general_route_not_found",
        408: "database_timeout",
        429: "general_rate_limit_exceeded",
    }
    error_type = by_status.get(status, "general_unknown" if status >= 500 else "general_bad_request")
    message = _CATALOGUE[error_type][1].replace("%s", "")
    return error_type, message


def argument_invalid(param: str, description: str) -> ApiError:
    """The framework's parameter-validation failure."""
    return ApiError("general_argument_invalid", f"Invalid `{param}` param: {description}")


def param_missing(param: str) -> ApiError:
    return ApiError("general_argument_invalid", f'Param "{param}" is not optional.')
