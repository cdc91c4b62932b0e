"""The lake's product rows: one product of a shop's catalogue (the `erp_products` connector)."""

from pydantic import BaseModel, ConfigDict, Field


class ProductRow(BaseModel):
    """A catalogue product, curated. A measure the export leaves empty is None, never a guessed 0."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sku: str = Field(min_length=1)
    category: str | None = Field(
        description="in English when the tenant's translation knows it, else as the export wrote it"
    )
    # The Olist export gives the lengths of the listing's texts, not the texts themselves.
    name_length: int | None = Field(ge=0)
    description_length: int | None = Field(ge=0)
    photos: int | None = Field(ge=0)
    weight_g: int | None = Field(gt=0, description="None: unknown (a 0 g weight is read as unknown)")
    length_cm: int | None = Field(ge=0)
    height_cm: int | None = Field(ge=0)
    width_cm: int | None = Field(ge=0)
