"""Returns linked to the sales they undo, where the data lets us find them.

A cancellation names its own invoice, not the one it cancels. The original is taken to be the
latest sale before the return of the same product to the same customer; a guest's return, or
one whose sale is older than the lines given (an earlier month not loaded), stays unlinked and
is counted as such, never guessed.
"""

from collections import Counter
from collections.abc import Iterable

from tandem.models.lake import LineKind, OrderLineRow


def link_returns(lines: Iterable[OrderLineRow]) -> tuple[list[OrderLineRow], Counter[str]]:
    """The lines, each return with its `original_order_id` where found; counts of linked and unlinked."""
    ordered = sorted(lines, key=lambda line: line.ordered_at)
    last_sale: dict[tuple[str, str], str] = {}
    counts: Counter[str] = Counter()
    linked: list[OrderLineRow] = []
    for line in ordered:
        key = (line.customer_id or "", line.sku)
        if line.kind is LineKind.SALE and line.customer_id:
            last_sale[key] = line.order_id
        elif line.kind is LineKind.RETURN:
            original = last_sale.get(key) if line.customer_id else None
            counts["return_linked" if original else "return_unlinked"] += 1
            line = line.model_copy(update={"original_order_id": original})
        linked.append(line)
    return linked, counts
