"""`erp_products`: a shop's product catalogue from its management system (ERP), one row per product.

The default mapping is Olist's products export, whose column names are misspelt at the source
(`product_name_lenght`, `product_description_lenght`); a tenant whose export names them otherwise
passes its own mapping. Category names come in the tenant's language (Olist: Portuguese); the
connector is given a translation (source name → English), configuration the caller reads, so that
this logic reads no file. The rules, each named (as counted in the manifest):

- `trimmed_text`: blanks around a sku or a category removed;
- `category_translated`: the category put in English by the translation;
- `category_untranslated`: a category the translation does not know, kept as written (so that a
  gap in the table is seen in the manifest, not hidden by a made-up name);
- `no_category`: the product has no category;
- `no_listing_details`: name length, description length or photo count missing (kept as None);
- `no_dimensions`: weight or a dimension missing (kept as None);
- `zero_weight_as_unknown`: a weight of 0 g is a missing value filled with 0, not a weight: kept as
  None so that shipping weights are never summed with it;
- `number_normalised`: a float-formatted whole number (`40.0`, a spreadsheet's re-save) read as `40`.

Refused (quarantine reason codes): `missing_sku`, `bad_number` (a count or measure that is not a
whole number), `negative_number`.
"""

from collections.abc import Iterable, Mapping

from tandem.logic.lake.connectors import Connector, RowRejected, Rules
from tandem.logic.lake.values import trimmed, whole_number
from tandem.models.lake_products import ProductRow

DEFAULT_MAPPING = {
    "sku": "product_id",
    "category": "product_category_name",
    "name_length": "product_name_lenght",
    "description_length": "product_description_lenght",
    "photos": "product_photos_qty",
    "weight_g": "product_weight_g",
    "length_cm": "product_length_cm",
    "height_cm": "product_height_cm",
    "width_cm": "product_width_cm",
}
_LISTING = ("name_length", "description_length", "photos")
_DIMENSIONS = ("weight_g", "length_cm", "height_cm", "width_cm")
_BOM = "\ufeff"


def translation(
    records: Iterable[Mapping[str, str | None]],
    source: str = "product_category_name",
    english: str = "product_category_name_english",
) -> dict[str, str]:
    """A translation table's rows (as csv.DictReader gives them) → {source name: English name}.

    Olist's table starts with a UTF-8 BOM: a reader that did not strip it names the first column
    `\\ufeffproduct_category_name`, so a BOM on a column name is ignored here.
    """
    table: dict[str, str] = {}
    for record in records:
        row = {(key or "").lstrip(_BOM): value for key, value in record.items()}
        name, translated = (row.get(source) or "").strip(), (row.get(english) or "").strip()
        if name and translated:
            table[name] = translated
    return table


def connector(categories: Mapping[str, str] | None = None) -> Connector[ProductRow]:
    """The connector for a tenant whose category names `categories` translates into English."""
    table = dict(categories or {})
    return Connector(
        name="erp_products",
        row_model=ProductRow,
        default_mapping=DEFAULT_MAPPING,
        clean=lambda row, rules: clean(row, rules, table),
    )


def clean(row: dict[str, str | None], rules: Rules, categories: Mapping[str, str]) -> ProductRow:
    sku = trimmed(row.get("sku"), rules)
    if not sku:
        raise RowRejected("missing_sku", "the row names no product")
    numbers = {name: whole_number(name, row.get(name), rules) for name in (*_LISTING, *_DIMENSIONS)}
    if any(numbers[name] is None for name in _LISTING):
        rules.applied("no_listing_details")
    if any(numbers[name] is None for name in _DIMENSIONS):
        rules.applied("no_dimensions")
    if numbers["weight_g"] == 0:
        numbers["weight_g"] = None
        rules.applied("zero_weight_as_unknown")
    return ProductRow(sku=sku, category=_category(row.get("category"), rules, categories), **numbers)


def _category(value: str | None, rules: Rules, categories: Mapping[str, str]) -> str | None:
    name = trimmed(value, rules)
    if not name:
        rules.applied("no_category")
        return None
    if name in categories:
        rules.applied("category_translated")
        return categories[name]
    rules.applied("category_untranslated")
    return name
